import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { describe, expect, it } from "vitest";
import { testLogger } from "@voicecall/testkit";
import { mintStreamToken } from "@voicecall/auth";
import type { Bus } from "@voicecall/bus";
import type { CallRecord } from "@voicecall/contracts";
import type { CallStore } from "@voicecall/store";
import { StreamSession } from "./session";
import { bargeInConfig, parseMediaConfig } from "./config";
import { energyPipelineFactory } from "../test/energy-pipeline";
import type { StartFrame } from "./twilio-codec";

const SECRET = "stream-token-secret-0123456789abcdef";
const callId = "cgreetorder01";
const callSid = "CA" + "a".repeat(32);
const streamSid = "MZ" + "b".repeat(32);

/**
 * The pre-rendered greeting's first pieces leave in a socket write of their own, before the rest of the
 * stream opens (issue #20: the greeting's critical path is the admission's round trip and one write).
 * Everything the session does is logged in order: its socket's cork/uncork, each message sent, the
 * speech pipeline's opening, the bus subscriptions and the greeting turn's latency record.
 */
function harness(afterFirstSend: "frame" | "stop") {
  const log: string[] = [];
  const call: CallRecord = {
    callId,
    callSid,
    state: "in-progress",
    direction: "outbound",
    mode: "conversation",
    channel: "twilio",
    engine: "pipeline",
    from: "+14155550100",
    to: "+14155550101",
    greeting: "Hello there",
    greetingPlayed: false,
    streamCount: 0,
    createdAt: 1,
    updatedAt: 1,
  };
  const audio = new Uint8Array(16_000).fill(0x10);
  const store = {
    getCall: async () => ({ ...call, streamSid }),
    releaseLease: async () => undefined,
    admitStream: async () => ({ ok: true, call, streamCount: 1 }),
    prerenderedGreeting: async () => ({ text: "Hello there", bytes: audio.length, ts: 1, audio: Buffer.from(audio) }),
    recordTurn: async (t: { kind: string }) => void log.push(`record ${t.kind} turn`),
    acquireLease: async () => true,
    appendEvent: async () => undefined,
    update: async () => undefined,
  } as unknown as CallStore;
  const sub = { unsubscribe: () => undefined };
  const bus = {
    subscribeBinary: () => (log.push("subscribe"), sub),
    subscribe: () => (log.push("subscribe"), sub),
    publish: (_s: string, _schema: unknown, e: { type: string }) => void log.push(`event ${e.type}`),
  } as unknown as Bus;
  // A caller frame that comes right after the greeting's write, before the stream's audio path opened.
  const callerFrame = {
    event: "media" as const,
    sequenceNumber: "2",
    streamSid,
    media: {
      track: "inbound" as const,
      chunk: "1",
      timestamp: "0",
      payload: Buffer.alloc(160, 0xff).toString("base64"),
    },
  };
  const stopFrame = {
    event: "stop" as const,
    sequenceNumber: "2",
    streamSid,
    stop: { accountSid: "AC" + "c".repeat(32), callSid },
  };
  let framed = false;
  const ws = {
    OPEN: 1,
    readyState: 1,
    send: (t: string) => {
      log.push(`send ${(JSON.parse(t) as { event: string }).event}`);
      if (!framed) queueMicrotask(() => session.onFrame(afterFirstSend === "stop" ? stopFrame : callerFrame));
      framed = true;
    },
    close: () => undefined,
    terminate: () => undefined,
  } as unknown as WebSocket;
  const socket = { cork: () => log.push("cork"), uncork: () => log.push("uncork") } as unknown as Duplex;
  const energy = energyPipelineFactory();
  const cfg = parseMediaConfig({
    PUBLIC_URL: "https://localhost",
    TWILIO_AUTH_TOKEN: "test-auth-token-0123456789",
    STREAM_TOKEN_SECRET: SECRET,
    NATS_URL: "nats://127.0.0.1:4222",
    REDIS_URL: "redis://127.0.0.1:6379",
  });
  let live = false;
  const session = new StreamSession(ws, {
    cfg,
    bus,
    store,
    log: testLogger("media-test", "warn").log,
    speech: {
      open: (o) => {
        log.push("open pipeline");
        const p = energy.open(o);
        return Object.assign(Object.create(p) as typeof p, {
          push: (mu: Uint8Array) => (log.push(`frame ${mu.length}`), p.push(mu)),
        });
      },
    },
    bargeIn: bargeInConfig(cfg),
    worker: "media-test",
    onLive: () => void (live = true),
    onEnded: () => undefined,
    grace: () => undefined,
    signed: true,
    socket,
  });
  const start: StartFrame = {
    event: "start",
    sequenceNumber: "1",
    streamSid,
    start: {
      accountSid: "AC" + "c".repeat(32),
      streamSid,
      callSid,
      tracks: ["inbound"],
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      customParameters: { callId, token: mintStreamToken(SECRET, callId, callSid, 60_000) },
    },
  };
  return { session, log, start, isLive: () => live };
}

describe("media: the pre-rendered greeting is written before the stream's pipeline opens", () => {
  it("writes the greeting's first pieces, then opens the pipeline (handing it the frames so far) and subscribes", async () => {
    const { session, log, start, isLive } = harness("frame");
    session.onFrame(start);
    await expect.poll(() => log.includes("event stream.started") && log.includes("record greeting turn")).toBe(true);
    expect(isLive()).toBe(true);

    const firstWrite = log.indexOf("uncork");
    // The greeting's lead went out in that write: pieces and marks between the cork and the uncork.
    expect(log.slice(0, firstWrite)).toContain("send media");
    expect(log.slice(0, firstWrite)).toContain("send mark");
    expect(log[0]).toBe("cork");
    // Only after it: the pipeline (its STT socket), the bus subscriptions, stream.started and the turn's record.
    for (const later of ["open pipeline", "subscribe", "event stream.started", "record greeting turn"])
      expect(log.indexOf(later), later).toBeGreaterThan(firstWrite);
    // The caller's frame from before the pipeline opened reached it, once.
    expect(log.filter((l) => l.startsWith("frame"))).toEqual(["frame 160"]);
    expect(log.indexOf("frame 160")).toBeGreaterThan(log.indexOf("open pipeline"));
    session.kill();
  });

  it("a stop in the turn the stream went live still has stream.started before stream.stopped", async () => {
    const { session, log, start } = harness("stop");
    session.onFrame(start);
    await expect.poll(() => log.includes("event stream.stopped")).toBe(true);
    expect(log.indexOf("event stream.started")).toBeGreaterThan(log.indexOf("uncork"));
    expect(log.indexOf("event stream.started")).toBeLessThan(log.indexOf("event stream.stopped"));
    expect(log.filter((l) => l === "event stream.started")).toHaveLength(1);
    // Ended before its audio path opened: none was opened afterwards.
    await new Promise((r) => setImmediate(r));
    expect(log).not.toContain("open pipeline");
  });
});
