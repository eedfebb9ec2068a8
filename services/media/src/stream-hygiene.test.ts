import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { waitFor } from "@voicecall/testkit";
import { mintStreamToken } from "@voicecall/auth";
import { startHarness, rampAudio, AUTH_TOKEN, SECRET, type Harness } from "../test/harness";
import { TwilioStream } from "../test/twilio-stream";

// Hostile and broken clients against one worker behind Caddy TLS; after each, the worker still serves.
describe("media: socket hygiene and stream auth", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(1, {
      STREAM_MAX_PAYLOAD: "16384",
      FLOOD_BURST: "300",
      MAX_PENDING_PER_ADDRESS: "3",
      DRAIN_TIMEOUT_MS: "200",
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** The worker still takes a good stream. */
  const survives = async () => {
    const call = await h.newCall();
    const c = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "a good stream after the bad one");
    c.stop();
  };

  it("refuses an upgrade with a wrong X-Twilio-Signature before the handshake", async () => {
    const call = await h.newCall();
    const c = h.client(call, { authToken: "not-the-token" });
    await expect(c.opened).rejects.toThrow("status 403");
    await survives();
  });

  it("refuses an unsigned upgrade carrying a fresh, valid token of a phone call; the genuine stream then starts", async () => {
    const call = await h.newCall();
    const token = h.token(call.callId, call.callSid);
    const unsigned = h.client(call, { authToken: undefined, customParameters: { callId: call.callId, token } });
    expect(await unsigned.closed).toEqual({ code: 1008, reason: "unsigned stream for a phone call" });
    expect(h.of(call.callId, "stream.started")).toEqual([]);
    // The token was not spent: Twilio's own (signed) socket with it is served.
    const genuine = h.client(call, { customParameters: { callId: call.callId, token } });
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "the signed stream");
    genuine.stop();
    // A browser-phone call has no Twilio to sign: its token alone opens the stream.
    const web = await h.newCall();
    await h.store.update(web.callId, { channel: "web" });
    const page = h.client(web, { authToken: undefined });
    await waitFor(() => h.of(web.callId, "stream.started").length === 1, "the browser phone's unsigned stream");
    page.stop();
  });

  it("closes 1008 on a bad token, a token of another call, and a missing token", async () => {
    const a = await h.newCall();
    const b = await h.newCall();
    const cases = [
      { callId: a.callId, token: "garbage" },
      { callId: a.callId, token: mintStreamToken(SECRET, b.callId, b.callSid, 60_000) },
      { callId: a.callId, token: mintStreamToken("another-secret-0123456789", a.callId, a.callSid, 60_000) },
      { callId: a.callId, token: mintStreamToken(SECRET, a.callId, a.callSid, -1000) },
      { callId: a.callId },
    ];
    // One at a time: this worker allows only 3 pending sockets per address (MAX_PENDING_PER_ADDRESS).
    const closes: { code: number; reason: string }[] = [];
    for (const p of cases) closes.push(await h.client(a, { customParameters: p as Record<string, string> }).closed);
    expect(closes.map((c) => c.code)).toEqual([1008, 1008, 1008, 1008, 1008]);
    expect(closes.map((c) => c.reason)).toEqual([
      "token malformed",
      "token mismatch",
      "token mismatch",
      "token expired",
      "missing callId or token",
    ]);
    expect(h.of(a.callId, "stream.started")).toEqual([]);
    await survives();
  });

  it("a token is single-use per stream", async () => {
    const call = await h.newCall();
    const token = h.token(call.callId, call.callSid);
    const first = h.client(call, { customParameters: { callId: call.callId, token } });
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "first");
    const replay = h.client(call, { customParameters: { callId: call.callId, token }, streamSid: first.streamSid });
    expect(await replay.closed).toEqual({ code: 1008, reason: "token already used" });
    // Replayed with a fresh streamSid (it would take the stream lease over): refused too, the call keeps its stream.
    const hijack = h.client(call, { customParameters: { callId: call.callId, token } });
    expect(await hijack.closed).toEqual({ code: 1008, reason: "token already used" });
    expect(h.of(call.callId, "stream.started")).toHaveLength(1);
    first.stop();
  });

  it("skips garbage, invalid JSON, unknown events, binary frames and media before start", async () => {
    const call = await h.newCall();
    const c = h.client(call, { start: false, autoTick: false });
    await c.opened;
    for (const junk of [
      "{nope",
      "null",
      "[]",
      `{"event":"bogus"}`,
      `{"event":"media"}`,
      `{"event":"start","start":{}}`,
      "\u0000\u0001",
    ])
      c.send(junk);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    c.tick(); // media before start
    c.send({ event: "mark", sequenceNumber: "3", streamSid: c.streamSid, mark: { name: "x:1" } });
    c.sendStart();
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "start after junk");
    h.speak(call.callId, "u", rampAudio(100), { chunks: 1 });
    await waitFor(() => (c.tick(), h.of(call.callId, "playback.mark").find((e) => e.done)), "still plays");
    expect(h.workers[0]!.logs.lines.filter((l) => l.msg === "stream frame skipped").length).toBeGreaterThan(0);
  });

  it("closes an oversized message (1009) and a flood (1008), and survives both", async () => {
    const big = await h.newCall();
    const b = h.client(big, { autoTick: false });
    await b.opened;
    b.send("x".repeat(20_000));
    expect((await b.closed).code).toBe(1009);

    const fl = await h.newCall();
    const f = h.client(fl, { autoTick: false });
    await waitFor(() => h.of(fl.callId, "stream.started").length === 1, "flood stream started");
    for (let i = 0; i < 2000; i++) f.tick();
    expect(await f.closed).toEqual({ code: 1008, reason: "flood" });
    await survives();
  });

  it("closes a socket that sends no start, and caps pending sockets per address", async () => {
    const call = await h.newCall();
    const idle = [0, 1, 2].map(() => h.client(call, { start: false, autoTick: false }));
    await Promise.all(idle.map((c) => c.opened));
    const fourth = h.client(call, { start: false, autoTick: false });
    await expect(fourth.opened).rejects.toThrow("status 429");
    const closes = await Promise.all(idle.map((c) => c.closed));
    expect(closes.map((c) => c.reason)).toEqual(["no valid start", "no valid start", "no valid start"]);
    await survives();
  });

  it("drain: stops listening (new upgrades refused at TCP), live streams closed 1001 after the drain timeout, stream.stopped drain", async () => {
    const w = await h.startWorker(0, 9);
    const port = (w.app.server.address() as { port: number }).port;
    const url = `ws://127.0.0.1:${port}/voice/stream`;
    const call = await h.newCall();
    const c = new TwilioStream({
      url,
      authToken: AUTH_TOKEN,
      signUrl: h.streamUrl,
      callSid: call.callSid,
      customParameters: { callId: call.callId, token: h.token(call.callId, call.callSid) },
    });
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "started on the draining worker");
    const drained = w.app.drain(200);
    const late = new WebSocket(url);
    const err = await new Promise<string>((r) =>
      late.once("error", (e: NodeJS.ErrnoException) => r(e.code ?? e.message)),
    );
    expect(err).toBe("ECONNREFUSED");
    expect(await c.closed).toEqual({ code: 1001, reason: "worker draining" });
    await drained;
    const stopped = await waitFor(() => h.of(call.callId, "stream.stopped")[0], "stopped");
    expect(stopped.reason).toBe("drain");
    expect(await h.store.leaseOwner("stream", call.callId)).toBeNull();
    await w.app.close();
    await w.bus.drain();
    w.redis.disconnect();
  });
});
