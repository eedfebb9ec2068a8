import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { connectBus, type Bus } from "@voicecall/bus";
import {
  CallEvent,
  LifecycleEvent,
  PrerenderRequest,
  SayMessage,
  parseAudioHeaders,
  subjects,
  type AudioChunkHeaders,
} from "@voicecall/contracts";
import { CallStore, connectRedis } from "@voicecall/store";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import { headerRecord } from "@voicecall/bus";
import { createApp, type TtsApp } from "./app";
import { parseTtsConfig } from "./config";
import { createTts } from "./providers";
import { startFakeVendors, type FakeVendors } from "../test/fake-vendors";

let s: Servers;
let bus: Bus;
let redis: Redis;
let v: FakeVendors;
let app: TtsApp | undefined;
let n = 0;
const { log } = testLogger("tts", "warn");

beforeAll(async () => {
  [s, v] = await Promise.all([startServers({ caddy: undefined }), startFakeVendors()]);
  bus = await connectBus({ url: s.natsUrl, name: "tts-test", log });
  redis = connectRedis(s.redisUrl, log);
});
afterAll(async () => {
  await bus?.drain();
  redis?.disconnect();
  await v?.close();
  await s?.stop();
});
afterEach(async () => {
  app?.speaker.abortAll();
  await app?.close();
  app = undefined;
  v.modes = [];
  v.fallbackMode = { kind: "ok" };
  v.requests = [];
  v.aborted = 0;
});

function start(env: Record<string, string> = {}): TtsApp {
  const cfg = parseTtsConfig({
    ELEVENLABS_URL: v.url,
    ELEVENLABS_API_KEY: v.apiKey,
    OPENAI_TTS_URL: v.url,
    OPENAI_API_KEY: v.apiKey,
    TTS_FIRST_CHUNK_TIMEOUT_MS: "1000",
    ...env,
  });
  app = createApp({
    bus,
    redis,
    store: new CallStore(redis),
    tts: createTts(cfg),
    log,
    cacheTtlMs: cfg.TTS_CACHE_TTL_MS,
  });
  app.start();
  return app;
}

type Chunk = AudioChunkHeaders & { bytes: number; at: number };
/** Records every audio chunk and event of a fresh call. */
async function call() {
  const callId = `call-${process.pid}-${++n}`;
  const chunks: Chunk[] = [];
  const events: CallEvent[] = [];
  const a = bus.nc.subscribe(subjects.audio(callId));
  const e = bus.subscribe(subjects.evt(callId), CallEvent, (m) => void events.push(m));
  void (async () => {
    for await (const m of a)
      chunks.push({ ...parseAudioHeaders(headerRecord(m)), bytes: m.data.length, at: performance.now() });
  })();
  await bus.flush();
  const say = (utteranceId: string, text: string, generation = 1) =>
    bus.publish(subjects.say(callId), SayMessage, {
      type: "say",
      callId,
      ts: Date.now(),
      utteranceId,
      text,
      purpose: "reply",
      generation,
    });
  const cancel = (beforeGeneration: number) =>
    bus.publish(subjects.say(callId), SayMessage, { type: "say.cancel", callId, ts: Date.now(), beforeGeneration });
  const of = (u: string) => chunks.filter((c) => c.utteranceId === u);
  const done = (u: string) => waitFor(() => of(u).some((x) => x.last), `last chunk of ${u}`, 20_000);
  const stop = () => {
    a.unsubscribe();
    e.unsubscribe();
  };
  return { callId, chunks, events, say, cancel, of, done, stop };
}

describe("speaker: say → audio on vc.call.<id>.audio (real NATS + Redis)", () => {
  it("streams seq-numbered chunks, text on seq 0, last flagged; caches the phrase for the next say", async () => {
    start();
    const c = await call();
    c.say("u1", "Hello there. This is the first reply.");
    await c.done("u1");
    const u1 = c.of("u1");
    expect(u1.map((x) => x.seq)).toEqual(u1.map((_, i) => i));
    expect(u1.filter((x) => x.last).map((x) => x.seq)).toEqual([u1.length - 1]);
    expect(u1[0]!.text).toBe("Hello there. This is the first reply.");
    expect(u1.slice(1).every((x) => x.text === undefined)).toBe(true);
    expect(u1.reduce((t, x) => t + x.bytes, 0) / 8).toBeGreaterThan(1000);
    await waitFor(() => c.events.some((e) => e.type === "tts.first-chunk"), "first-chunk event");
    expect(c.events.find((e) => e.type === "tts.first-chunk")).toMatchObject({
      utteranceId: "u1",
      provider: "local:flite",
      cached: false,
    });

    c.say("u2", "Hello there. This is the first reply.");
    await c.done("u2");
    await waitFor(() => c.events.filter((e) => e.type === "tts.first-chunk").length === 2, "second first-chunk event");
    expect(c.events.filter((e) => e.type === "tts.first-chunk")[1]).toMatchObject({ utteranceId: "u2", cached: true });
    expect(c.of("u2").reduce((t, x) => t + x.bytes, 0)).toBe(u1.reduce((t, x) => t + x.bytes, 0));
    c.stop();
  });

  it("keeps the order of a turn's sentences, one utterance after another", async () => {
    start();
    const c = await call();
    for (const [i, t] of [
      "One little sentence.",
      "Then a second one, a bit longer than the first.",
      "And a third.",
    ].entries())
      c.say(`s${i}`, t);
    await c.done("s2");
    const order = c.chunks.map((x) => x.utteranceId).filter((u, i, a) => a.indexOf(u) === i);
    expect(order).toEqual(["s0", "s1", "s2"]);
    // Serial: every chunk of s0 comes before any of s1, and so on.
    const seqOfUtterances = c.chunks.map((x) => Number(x.utteranceId.slice(1)));
    expect([...seqOfUtterances].sort((a, b) => a - b)).toEqual(seqOfUtterances);
    c.stop();
  });

  it("renders the next sentence while the current one streams (look-ahead), still in order", async () => {
    start({ TTS_PROVIDER: "elevenlabs" });
    v.fallbackMode = { kind: "ok", chunks: 10, delayMs: 100 };
    const c = await call();
    c.say("s0", "First sentence.");
    c.say("s1", "Second sentence.");
    await waitFor(() => v.requests.length === 2, "second vendor request");
    expect(c.of("s0").some((x) => x.last)).toBe(false);
    await c.done("s1");
    const s1First = c.chunks.findIndex((x) => x.utteranceId === "s1");
    expect(c.chunks.slice(s1First).every((x) => x.utteranceId === "s1")).toBe(true);
    expect(c.of("s0").at(-1)!.last).toBe(true);
    c.stop();
  });

  it("say.cancel stops the utterance mid-stream, aborts the vendor request and drops queued says", async () => {
    start({ TTS_PROVIDER: "elevenlabs" });
    v.fallbackMode = { kind: "ok", chunks: 30, delayMs: 50 };
    const c = await call();
    c.say("long", "A long utterance that streams slowly.", 1);
    c.say("queued", "Queued behind it, same generation.", 1);
    await waitFor(() => c.of("long").length > 0, "first chunk of long");
    c.cancel(2);
    // Both the streaming utterance and the queued one (already rendering ahead) are aborted.
    await waitFor(() => v.aborted === 2, "vendor requests aborted");
    const sentAtCancel = c.of("long").length;
    v.fallbackMode = { kind: "ok" };
    c.say("next", "The next turn.", 2);
    await c.done("next");
    expect(c.of("long").length).toBeLessThanOrEqual(sentAtCancel + 1);
    expect(c.of("long").some((x) => x.last)).toBe(false);
    expect(c.of("queued")).toEqual([]);
    // A late say of the cancelled generation is dropped too.
    c.say("late", "Late, old generation.", 1);
    c.say("after", "After it.", 2);
    await c.done("after");
    expect(c.of("late")).toEqual([]);
    c.stop();
  });

  it("a repeated say (the agent re-sending one it thinks lost) is dropped: in flight, queued or done", async () => {
    start({ TTS_PROVIDER: "elevenlabs" });
    v.fallbackMode = { kind: "ok", chunks: 10, delayMs: 30 };
    const c = await call();
    c.say("a", "First, streaming.");
    c.say("b", "Second, queued behind it.");
    await waitFor(() => c.of("a").length > 0, "first chunk of a");
    c.say("a", "First, streaming."); // in flight
    c.say("b", "Second, queued behind it."); // queued
    await c.done("b");
    c.say("a", "First, streaming."); // done
    c.say("c", "Third.");
    await c.done("c");
    expect(c.of("a").filter((x) => x.seq === 0).length).toBe(1);
    expect(c.of("b").filter((x) => x.seq === 0).length).toBe(1);
    expect(c.of("a").filter((x) => x.last).length).toBe(1);
    expect(
      c.events.filter((e) => e.type === "tts.first-chunk").map((e) => (e as { utteranceId: string }).utteranceId),
    ).toEqual(["a", "b", "c"]);
    // Another call may use the same id.
    const d = await call();
    d.say("a", "Another call.");
    await d.done("a");
    c.stop();
    d.stop();
  });

  it("call.ended cancels synthesis and drops later says of that call", async () => {
    start({ TTS_PROVIDER: "elevenlabs" });
    v.fallbackMode = { kind: "ok", chunks: 30, delayMs: 50 };
    const c = await call();
    c.say("long", "A long utterance.");
    await waitFor(() => c.of("long").length > 0, "first chunk of long");
    bus.publish(subjects.lifecycle, LifecycleEvent, {
      type: "call.ended",
      callId: c.callId,
      ts: Date.now(),
      direction: "outbound",
      mode: "conversation",
      state: "completed",
    });
    await waitFor(() => v.aborted === 1, "vendor request aborted");
    c.say("after-end", "Nobody is listening.");
    await bus.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(c.of("after-end")).toEqual([]);
    expect(c.of("long").some((x) => x.last)).toBe(false);
    c.stop();
  });

  it("a failing vendor publishes tts.error and the local fallback still speaks", async () => {
    start({ TTS_PROVIDER: "openai" });
    v.fallbackMode = { kind: "status", status: 503 };
    const c = await call();
    c.say("u1", "The vendor is down but you can still hear me.");
    await c.done("u1");
    expect(c.of("u1").reduce((t, x) => t + x.bytes, 0) / 8).toBeGreaterThan(1000);
    await waitFor(() => c.events.some((e) => e.type === "tts.first-chunk"), "first-chunk event");
    expect(c.events.find((e) => e.type === "tts.error")).toMatchObject({
      utteranceId: "u1",
      provider: "openai",
      fallback: "local:flite",
    });
    expect(c.events.find((e) => e.type === "tts.first-chunk")).toMatchObject({
      provider: "local:flite",
      cached: false,
    });
    expect(v.requests.length).toBe(2); // the shared wrapper retried the 503 once
    // Fallback audio is not cached under the vendor's key: the next say asks the vendor again.
    v.fallbackMode = { kind: "ok" };
    c.say("u2", "The vendor is down but you can still hear me.");
    await c.done("u2");
    expect(v.requests.length).toBe(3);
    c.stop();
  });
});

describe("greeting prerender → cache hit", () => {
  it("a say arriving during the prerender waits for it (one vendor request), and a later say streams from Redis", async () => {
    start({ TTS_PROVIDER: "elevenlabs" });
    v.fallbackMode = { kind: "ok", chunks: 10, delayMs: 30 };
    const c = await call();
    const greeting = `Hi, this is your appointment reminder ${c.callId}.`;
    bus.publish(subjects.prerender, PrerenderRequest, {
      type: "prerender",
      callId: c.callId,
      ts: Date.now(),
      text: greeting,
    });
    await waitFor(() => v.requests.length === 1, "vendor request");
    c.say("g1", greeting);
    await c.done("g1");
    expect(v.requests.length).toBe(1);
    // Also kept under the call, for media to play on `start` (issue #20): the same audio as the say's.
    const pre = await waitFor(
      () => new CallStore(redis).prerenderedGreeting(c.callId),
      "greeting stored under the call",
    );
    expect(pre.text).toBe(greeting);
    expect(pre.audio.length).toBe(c.of("g1").reduce((t, x) => t + x.bytes, 0));
    await waitFor(() => c.events.some((e) => e.type === "tts.first-chunk"), "first-chunk event");
    expect(c.events.find((e) => e.type === "tts.first-chunk")).toMatchObject({
      utteranceId: "g1",
      cached: true,
      provider: "elevenlabs",
    });

    // Now the greeting is in Redis: time from publishing the say to its first audio chunk.
    const t0 = performance.now();
    c.say("g2", greeting);
    await c.done("g2");
    const firstAt = c.of("g2")[0]!.at - t0;
    await waitFor(() => c.events.filter((e) => e.type === "tts.first-chunk").length === 2, "second first-chunk event");
    const ev = c.events.filter((e) => e.type === "tts.first-chunk")[1] as Extract<
      CallEvent,
      { type: "tts.first-chunk" }
    >;
    expect(ev).toMatchObject({ utteranceId: "g2", cached: true });
    expect(v.requests.length).toBe(1);
    // Recorded, not asserted (timing): the service-side latency and the bus round trip.
    console.log(
      `[tts] cached greeting: first chunk ${ev.latencyMs} ms in service, ${firstAt.toFixed(1)} ms say→first chunk over NATS`,
    );
    c.stop();
  });
});

describe("one text said on many calls at once", () => {
  it("is synthesized once: the other calls wait for that render and play it whole", async () => {
    start({ TTS_PROVIDER: "elevenlabs", TTS_RETRIES: "0" });
    v.fallbackMode = { kind: "ok", chunks: 5, delayMs: 40 };
    const calls = await Promise.all(Array.from({ length: 8 }, () => call()));
    const text = `We are open Monday to Friday ${calls[0]!.callId}.`;
    for (const c of calls) c.say("r1", text);
    await Promise.all(calls.map((c) => c.done("r1")));
    expect(v.requests.length).toBe(1);
    const bytes = calls.map((c) => c.of("r1").reduce((n, x) => n + x.bytes, 0));
    expect(new Set(bytes).size).toBe(1);
    expect(bytes[0]).toBeGreaterThan(0);
    for (const c of calls) c.stop();
  });

  it("when that render fails, each waiting call synthesizes for itself", async () => {
    start({ TTS_PROVIDER: "elevenlabs", TTS_FALLBACK_PROVIDER: "none", TTS_RETRIES: "0" });
    v.modes = [{ kind: "status", status: 400 }];
    v.fallbackMode = { kind: "ok", chunks: 3, delayMs: 20 };
    const calls = await Promise.all(Array.from({ length: 3 }, () => call()));
    const text = `Sorry, that did not work ${calls[0]!.callId}.`;
    for (const c of calls) c.say("r1", text);
    // The first render failed (400 is final): that call gets tts.error; one of the two calls that waited
    // for it rendered again, for both.
    await waitFor(() => calls.filter((c) => c.of("r1").some((x) => x.last)).length === 2, "two calls spoken", 20_000);
    await waitFor(
      () => calls.some((c) => c.events.some((e) => e.type === "tts.error")),
      "tts.error of the first",
      20_000,
    );
    expect(calls.filter((c) => c.of("r1").some((x) => x.bytes > 0)).length).toBe(2);
    expect(v.requests.length).toBe(2);
    for (const c of calls) c.stop();
  });
});

describe("speaker: several tts instances", () => {
  const owned: TtsApp[] = [];
  afterEach(async () => {
    for (const a of owned.splice(0)) {
      a.speaker.abortAll();
      await a.close();
    }
  });
  const startOwned = (instanceId: string | undefined) => {
    const cfg = parseTtsConfig({
      TTS_PROVIDER: "elevenlabs",
      ELEVENLABS_URL: v.url,
      ELEVENLABS_API_KEY: v.apiKey,
      TTS_FALLBACK_PROVIDER: "none",
      TTS_FIRST_CHUNK_TIMEOUT_MS: "3000",
    });
    const a = createApp({
      bus,
      redis,
      store: new CallStore(redis),
      tts: createTts(cfg),
      log,
      cacheTtlMs: cfg.TTS_CACHE_TTL_MS,
      instanceId,
    });
    a.start();
    owned.push(a);
    return a;
  };

  it("one instance speaks all of a call's sentences, in order, each once (a slow first sentence included)", async () => {
    startOwned("tts-a");
    startOwned("tts-b");
    await bus.flush();
    v.modes = [{ kind: "ok", firstDelayMs: 800 }];
    const c = await call();
    const ids = ["s1", "s2", "s3", "s4"];
    for (const [i, id] of ids.entries()) c.say(id, `Sentence ${i + 1} of the turn for ${c.callId}.`);
    for (const id of ids) await c.done(id);
    const firstAt = ids.map((id) => c.of(id)[0]!.at);
    expect([...firstAt].sort((x, y) => x - y)).toEqual(firstAt);
    for (const id of ids) expect(c.of(id).filter((x) => x.last)).toHaveLength(1);
    expect(["tts-a", "tts-b"]).toContain(await new CallStore(redis).leaseOwner("tts", c.callId));
    c.stop();
  });

  it("a closing instance hands its calls back at once", async () => {
    const a = startOwned("tts-c");
    await bus.flush();
    const c = await call();
    c.say("h1", `Hello from the first instance for ${c.callId}.`);
    await c.done("h1");
    const store = new CallStore(redis);
    expect(await store.leaseOwner("tts", c.callId)).toBe("tts-c");
    await a.close();
    expect(await store.leaseOwner("tts", c.callId)).toBeNull();
    startOwned("tts-d");
    await bus.flush();
    c.say("h2", `Hello from the second instance for ${c.callId}.`);
    await c.done("h2");
    expect(await store.leaseOwner("tts", c.callId)).toBe("tts-d");
    c.stop();
  });
});
