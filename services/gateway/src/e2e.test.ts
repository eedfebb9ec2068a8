/**
 * End to end through real Caddy TLS (`tls internal`) and the Twilio simulator: the simulator dials,
 * signs its webhooks over the public https URL (port dropped, as Twilio does), connects the
 * Media Stream to wss://PUBLIC/voice/stream through Caddy, and sends status callbacks.
 * The stream end is a small WebSocket stand-in for the media service that checks the token.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "node:https";
import { WebSocketServer, type WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyStreamToken } from "@voicecall/auth";
import { connectBus, type Bus } from "@voicecall/bus";
import { subjects } from "@voicecall/contracts";
import { CallStore, connectRedis } from "@voicecall/store";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import { startSimulator, type Simulator } from "@voicecall/twilio-sim";
import { createApp, type Gateway } from "./app";
import { parseGatewayConfig } from "./config";
import { createTwilioCalls } from "./twilio-calls";
import { API_TOKEN, STREAM_SECRET } from "../test/harness";
import type { Redis } from "ioredis";

const listen = (s: Server) =>
  new Promise<number>((r) => s.listen(0, "127.0.0.1", () => r((s.address() as AddressInfo).port)));

/** Media stand-in: accepts streams, checks `start` parameters and the token, can drop a stream. */
function mediaStandIn() {
  const starts: { callId: string; callSid: string; token: string; tokenOk: boolean; ws: WebSocket }[] = [];
  const server = createServer();
  const wss = new WebSocketServer({ server, path: "/voice/stream" });
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const m = JSON.parse(String(data));
      if (m.event !== "start") return;
      const { callId, token } = m.start.customParameters as Record<string, string>;
      starts.push({
        callId,
        callSid: m.start.callSid,
        token,
        tokenOk: verifyStreamToken(STREAM_SECRET, token, callId, m.start.callSid).ok,
        ws,
      });
    });
  });
  return {
    server,
    starts,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => r());
      }),
  };
}

let servers: Servers;
let sim: Simulator;
let gw: Gateway;
let gwServer: Server;
let media: ReturnType<typeof mediaStandIn>;
let redis: Redis;
let bus: Bus;
let store: CallStore;
let publicUrl: string;
const events: { subject: string; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  gwServer = createServer();
  media = mediaStandIn();
  const [gwPort, mediaPort] = await Promise.all([listen(gwServer), listen(media.server)]);
  const gwUp = [`127.0.0.1:${gwPort}`];
  servers = await startServers({
    caddy: {
      routes: [
        { path: "/voice/webhook*", upstreams: gwUp },
        { path: "/voice/status*", upstreams: gwUp },
        { path: "/voice/amd*", upstreams: gwUp },
        { path: "/api/*", upstreams: gwUp },
        { path: "/voice/stream*", upstreams: [`127.0.0.1:${mediaPort}`] },
      ],
    },
  });
  publicUrl = servers.caddy!.origin;
  sim = await startSimulator({ ca: servers.caddy!.ca });
  const { log } = testLogger("gateway", "warn");
  const config = parseGatewayConfig({
    NATS_URL: servers.natsUrl,
    REDIS_URL: servers.redisUrl,
    PUBLIC_URL: publicUrl,
    TWILIO_ACCOUNT_SID: sim.accountSid,
    TWILIO_AUTH_TOKEN: sim.authToken,
    TWILIO_API_BASE_URL: sim.origin,
    TWILIO_FROM_NUMBER: "+14155550100",
    API_TOKEN,
    STREAM_TOKEN_SECRET: STREAM_SECRET,
    INBOUND_POLICY: "allowlist",
    INBOUND_ALLOW_FROM: "+14155550111",
    TRUSTED_PROXIES: "127.0.0.1",
  });
  redis = connectRedis(config.REDIS_URL, log);
  store = new CallStore(redis, { retentionMs: config.CALL_RETENTION_MS });
  bus = await connectBus({ url: config.NATS_URL, name: "gateway-e2e", log });
  const sub = bus.nc.subscribe("vc.>");
  void (async () => {
    for await (const m of sub) events.push({ subject: m.subject, data: JSON.parse(new TextDecoder().decode(m.data)) });
  })();
  gw = createApp({
    config,
    log,
    bus,
    redis,
    store,
    twilio: createTwilioCalls({
      accountSid: config.TWILIO_ACCOUNT_SID!,
      authToken: config.TWILIO_AUTH_TOKEN!,
      apiBaseUrl: config.TWILIO_API_BASE_URL,
    }),
  });
  gwServer.on("request", gw.app);
  await gw.start();
});

afterAll(async () => {
  await gw?.stop();
  await sim?.stop();
  await media?.close();
  gwServer?.closeAllConnections();
  await new Promise((r) => gwServer?.close(r));
  await bus?.drain();
  redis?.disconnect();
  await servers?.stop();
});

/** The API through Caddy over TLS, trusting Caddy's local CA. */
function apiPost(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      publicUrl + path,
      {
        method: "POST",
        ca: servers.caddy!.ca,
        headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

describe("gateway end to end (Caddy TLS + Twilio simulator)", () => {
  it("outbound: API → dial → signed webhook → stream with token → reconnect → hangup → completed, full timeline", async () => {
    const r = await apiPost("/api/calls", { to: "+14155550123", greeting: "Hello from the test" });
    expect(r.status).toBe(202);
    const { callId } = r.json as { callId: string };
    const phone = await sim.nextCall();
    const first = await phone.waitForStream(1);
    expect(first.url).toBe(`wss://${new URL(publicUrl).host}/voice/stream`);
    expect(first.customParameters.callId).toBe(callId);
    await waitFor(() => media.starts.find((s) => s.callId === callId), "stream start at media");
    const s1 = media.starts.find((s) => s.callId === callId)!;
    expect(s1).toMatchObject({ callSid: phone.sid, tokenOk: true });
    const wh = phone.requests().find((q) => q.url.includes("/voice/webhook"))!;
    expect(wh.status).toBe(200);
    expect(wh.contentType).toMatch(/text\/xml/);

    // The media worker goes away: Twilio runs <Redirect> (reconnect=1) and gets a fresh token.
    s1.ws.close();
    await waitFor(() => media.starts.filter((s) => s.callId === callId).length >= 2, "second stream", 15_000);
    const s2 = media.starts.filter((s) => s.callId === callId)[1]!;
    expect(s2.tokenOk).toBe(true);
    expect(s2.token).not.toBe(s1.token);

    await phone.hangup();
    await phone.waitForEnd();
    await waitFor(async () => (await store.getCall(callId))?.state === "completed", "completed in redis");
    const timeline = (await store.timeline(callId)).map((t) => t.state);
    // Callbacks and the webhook race (Twilio: "no guarantee they will arrive in the same order"); a
    // ringing that lands after the webhook's in-progress is refused, so early states may be missing.
    const order = ["queued", "initiated", "ringing", "in-progress", "completed"];
    expect(timeline.slice(-2)).toEqual(["in-progress", "completed"]);
    expect([...timeline].sort((a, b) => order.indexOf(a) - order.indexOf(b))).toEqual(timeline);
    const rec = await store.getCall(callId);
    expect(rec).toMatchObject({ callSid: phone.sid, direction: "outbound" });
    expect(phone.requests().every((q) => q.status === 200)).toBe(true);
    await waitFor(
      () =>
        events.some(
          (e) => e.subject === subjects.lifecycle && e.data.type === "call.ended" && e.data.callId === callId,
        ),
      "call.ended",
    );
  });

  it("inbound: allowlisted caller connected; caller not on the list rejected and recorded `rejected`", async () => {
    const ok = await sim.incoming({
      from: "+14155550111",
      to: "+14155550100",
      url: `${publicUrl}/voice/webhook`,
      statusCallback: `${publicUrl}/voice/status`,
    });
    await ok.waitForStream(1);
    const okId = await waitFor(() => store.callIdBySid(ok.sid), "inbound call id");
    await waitFor(() => media.starts.find((s) => s.callId === okId && s.tokenOk), "inbound stream with valid token");
    await ok.hangup();
    await ok.waitForEnd();
    await waitFor(async () => (await store.getCall(okId))?.state === "completed", "inbound completed");

    const no = await sim.incoming({
      from: "+14155550199",
      to: "+14155550100",
      url: `${publicUrl}/voice/webhook`,
      statusCallback: `${publicUrl}/voice/status`,
    });
    const end = await no.waitForEnd();
    expect(end).not.toBe("completed");
    expect(no.streams).toHaveLength(0);
    const noId = (await store.callIdBySid(no.sid))!;
    expect(await store.getCall(noId)).toMatchObject({ state: "rejected", endReason: "caller-not-allowed" });
  });
});
