/**
 * Test-only wiring: real NATS + Redis (startServers), the gateway in-process on port 0, a tiny Twilio
 * REST stand-in (until tests use the simulator) reached through the real `twilio` library, and a signer.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Redis } from "ioredis";
import { twilioSignature } from "@voicecall/auth";
import { connectBus, type Bus } from "@voicecall/bus";
import { subjects } from "@voicecall/contracts";
import { CallStore, connectRedis } from "@voicecall/store";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import { createApp, type Gateway } from "../src/app";
import { parseGatewayConfig, twilioOffReason, type GatewayConfig } from "../src/config";
import type { GatewayTuning } from "../src/context";
import { twilioNotConfigured, createTwilioCalls } from "../src/twilio-calls";

export const AUTH_TOKEN = "test-auth-token-0123456789abcdef";
export const ACCOUNT_SID = "AC" + "0123456789abcdef".repeat(2);
export const API_TOKEN = "api-token-0123456789abcdef";
export const STREAM_SECRET = "stream-secret-0123456789abcdef";
export const PUBLIC_URL = "https://voice.example.test";

export const newCallSid = (): string => "CA" + randomBytes(16).toString("hex");

/** A Twilio REST stand-in: records requests, keeps a status per call, answers like Twilio (201/200/404). */
export async function startRestStub() {
  const requests: { method: string; path: string; form: URLSearchParams }[] = [];
  const statuses = new Map<string, string>();
  const app = express();
  app.use(express.text({ type: "*/*" }));
  const json = (sid: string) => ({ sid, account_sid: ACCOUNT_SID, status: statuses.get(sid), answered_by: null, direction: "outbound-api" });
  app.post("/2010-04-01/Accounts/:acc/Calls.json", (req, res) => {
    const form = new URLSearchParams(req.body as string);
    requests.push({ method: "POST", path: req.path, form });
    if (form.get("To") === "+15550000000") return void res.status(400).json({ code: 21211, message: "Invalid 'To' Phone Number", more_info: "", status: 400 });
    const sid = newCallSid();
    statuses.set(sid, "queued");
    res.status(201).json(json(sid));
  });
  app.post("/2010-04-01/Accounts/:acc/Calls/:sid.json", (req, res) => {
    const form = new URLSearchParams(req.body as string);
    requests.push({ method: "POST", path: req.path, form });
    const sid = req.params.sid!;
    if (!statuses.has(sid)) return void res.status(404).json({ code: 20404, message: "not found", more_info: "", status: 404 });
    // Like Twilio: `completed` hangs up in any state; a call that never connected ends `canceled`.
    const status = form.get("Status");
    if (status) statuses.set(sid, status === "completed" && statuses.get(sid) !== "in-progress" ? "canceled" : status);
    res.status(200).json(json(sid));
  });
  app.get("/2010-04-01/Accounts/:acc/Calls/:sid.json", (req, res) => {
    requests.push({ method: "GET", path: req.path, form: new URLSearchParams() });
    const sid = req.params.sid!;
    if (!statuses.has(sid)) return void res.status(404).json({ code: 20404, message: "not found", more_info: "", status: 404 });
    res.json(json(sid));
  });
  const server = await listen(app);
  return { origin: origin(server), requests, statuses, close: () => close(server) };
}

export function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
}
export const origin = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
export const close = (s: Server) =>
  new Promise<void>((r) => {
    s.close(() => r());
    s.closeAllConnections();
  });

export interface Harness {
  servers: Servers;
  redis: Redis;
  store: CallStore;
  bus: Bus;
  stub: Awaited<ReturnType<typeof startRestStub>>;
  /** Every message on vc.> (JSON-decoded) since the last `reset()`. */
  messages: { subject: string; data: Record<string, unknown> }[];
  reset(): Promise<void>;
  /** Resolve once every message published so far on the shared connection has come back. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const servers = await startServers();
  const { log } = testLogger("gateway-test", "warn");
  const redis = connectRedis(servers.redisUrl, log);
  const store = new CallStore(redis, { retentionMs: 3600_000 });
  const bus = await connectBus({ url: servers.natsUrl, name: "gateway-test", log });
  const stub = await startRestStub();
  const messages: Harness["messages"] = [];
  const sub = bus.nc.subscribe("vc.>");
  void (async () => {
    for await (const m of sub) {
      try {
        messages.push({ subject: m.subject, data: JSON.parse(new TextDecoder().decode(m.data)) });
      } catch {
        /* binary */
      }
    }
  })();
  await bus.flush();
  return {
    servers,
    redis,
    store,
    bus,
    stub,
    messages,
    async settle() {
      const id = `vc.test.settle.${Math.random().toString(36).slice(2)}`;
      bus.nc.publish(id, new TextEncoder().encode("{}"));
      await waitFor(() => messages.some((m) => m.subject === id), "bus settle");
      messages.splice(messages.findIndex((m) => m.subject === id), 1);
    },
    async reset() {
      await redis.flushall();
      messages.length = 0;
      stub.requests.length = 0;
    },
    async stop() {
      sub.unsubscribe();
      await bus.drain();
      redis.disconnect();
      await stub.close();
      await servers.stop();
    },
  };
}

export interface RunningGateway {
  gw: Gateway;
  config: GatewayConfig;
  url: string;
  logs: ReturnType<typeof testLogger>;
  close(): Promise<void>;
}

/** The gateway in-process on port 0 with test config; `env` overrides config, `tuning` the knobs. */
export async function startGateway(h: Harness, env: Record<string, string> = {}, tuning: Partial<GatewayTuning> = {}, now?: () => number): Promise<RunningGateway> {
  const config = parseGatewayConfig({
    NATS_URL: h.servers.natsUrl,
    REDIS_URL: h.servers.redisUrl,
    PUBLIC_URL,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: h.stub.origin,
    TWILIO_FROM_NUMBER: "+14155550100",
    API_TOKEN,
    STREAM_TOKEN_SECRET: STREAM_SECRET,
    ...env,
  });
  const logs = testLogger("gateway", "debug");
  const gw = createApp({
    config,
    log: logs.log,
    bus: h.bus,
    redis: h.redis,
    store: new CallStore(h.redis, { retentionMs: config.CALL_RETENTION_MS }),
    twilio: twilioOffReason(config)
      ? twilioNotConfigured(twilioOffReason(config))
      : createTwilioCalls({ accountSid: config.TWILIO_ACCOUNT_SID!, authToken: config.TWILIO_AUTH_TOKEN!, apiBaseUrl: config.TWILIO_API_BASE_URL }),
    tuning: { failedSignaturesPerMinute: 1000, reaperIntervalMs: 3_600_000, ...tuning },
    now,
  });
  const server = await listen(gw.app);
  return {
    gw,
    config,
    url: origin(server),
    logs,
    async close() {
      await gw.stop();
      await close(server);
    },
  };
}

export interface PostOptions {
  /** Signature override (forged), or null for none. */
  signature?: string | null;
  /** Sign over this URL instead of PUBLIC_URL + path. */
  signUrl?: string;
  idempotencyToken?: string;
  rawBody?: string | ReadableStream;
  contentType?: string;
  headers?: Record<string, string>;
}

/** POST a form like Twilio does: signed over PUBLIC_URL + path (with query). */
export async function twilioPost(base: string, pathAndQuery: string, params: Record<string, string>, o: PostOptions = {}): Promise<{ status: number; type: string; body: string }> {
  const signature = o.signature === undefined ? twilioSignature(AUTH_TOKEN, o.signUrl ?? PUBLIC_URL + pathAndQuery, params) : o.signature;
  const headers: Record<string, string> = { "content-type": o.contentType ?? "application/x-www-form-urlencoded", ...o.headers };
  if (signature !== null) headers["x-twilio-signature"] = signature;
  if (o.idempotencyToken) headers["i-twilio-idempotency-token"] = o.idempotencyToken;
  const body = o.rawBody ?? new URLSearchParams(params).toString();
  const res = await fetch(base + pathAndQuery, { method: "POST", headers, body, ...(typeof body === "string" ? {} : { duplex: "half" }) } as RequestInit);
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() };
}

export async function api(base: string, method: string, path: string, body?: unknown, token = API_TOKEN): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, json };
}

export const tokensIn = (twiml: string): string[] => [...twiml.matchAll(/name="token" value="([^"]+)"/g)].map((m) => m[1]!);
export const evtTypes = (h: Harness, callId: string) => h.messages.filter((m) => m.subject === subjects.evt(callId)).map((m) => m.data.type === "call.state" ? `state:${m.data.state}` : String(m.data.type));
