/**
 * `npx tsx bench/hot-path.ts`: per-frame costs of the media hot path in isolation (µs per frame):
 * inbound parse (JSON + validation), base64 decode, mu-law decode + WebRTC VAD, outbound media+mark encode.
 */
import {
  parseInbound,
  parseInboundJson,
  mediaAudio,
  mediaMessage,
  markMessage,
  type MediaFrame,
} from "../services/media/src/twilio-codec";
import { decodeMulawInto } from "../services/media/src/speech/mulaw-frame";
import { createWebrtcVad } from "../services/media/src/speech/vad-webrtc";
import { StreamFrames } from "@voicecall/twilio-sim/frames";
import { parseMediaConfig, bargeInConfig } from "../services/media/src/config";
import { LevelFloor, voicedRms } from "../services/media/src/level-floor";
import { openPipeline } from "../services/media/src/speech/pipeline";
import { EventQueue } from "../services/media/src/speech/event-queue";
import type { SpeechToText, SttResult } from "../services/media/src/speech/types";
import { BargeInPolicy } from "../services/media/src/barge-in";
import { Playout } from "../services/media/src/playout";
import { SpeechLoop } from "../services/media/src/speech-loop";
import { testLogger } from "@voicecall/testkit";
import {
  AudioChunkHeaders,
  CallRecord,
  audioHeaderRecord,
  callRecordFromHash,
  parseAudioHeaders,
} from "@voicecall/contracts";

/** A streaming STT that takes every frame and never answers: the loop's own per-frame cost, without the socket. */
const quietStt: SpeechToText = {
  label: "quiet",
  capabilities: { partials: false, streaming: true },
  open: () => {
    const results = new EventQueue<SttResult>();
    return { pushFrame() {}, endUtterance() {}, results, close: () => results.end() };
  },
};

function time(label: string, n: number, fn: (i: number) => void): { label: string; usPerOp: number } {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn(i); // warm up
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t) / 1000 / n;
  return { label, usPerOp: Math.round(us * 1000) / 1000 };
}

export async function hotPath(n = 200_000): Promise<{ label: string; usPerOp: number }[]> {
  const mu = new Uint8Array(160);
  for (let i = 0; i < 160; i++) mu[i] = (i * 37) & 0xff;
  const b64 = Buffer.from(mu).toString("base64");
  const sid = "MZ" + "a".repeat(32);
  const twilio = new StreamFrames({
    accountSid: "AC" + "a".repeat(32),
    callSid: "CA" + "a".repeat(32),
    streamSid: sid,
  });
  twilio.start({});
  const frames = Array.from({ length: 64 }, (_, i) => twilio.media({ chunk: i + 1, timestampMs: i * 20 }, b64));
  const mark = twilio.mark("u1:3");
  const parsed = parseInbound(frames[0]).ok ? (parseInbound(frames[0]) as { event: MediaFrame }).event : undefined;
  if (!parsed) throw new Error("codec did not parse a media frame");
  const pcm = new Int16Array(160);
  const vadEngine = await createWebrtcVad({ mode: 3 });
  const vad = vadEngine.open();
  const cfg = parseMediaConfig({ PUBLIC_URL: "https://x.example", STREAM_TOKEN_SECRET: "x".repeat(32) });
  const levels = new LevelFloor({ echoGuardDb: 9, callerFloorDb: 12 });
  const agent = new Uint8Array(1600);
  for (let i = 0; i < agent.length; i++) agent[i] = (i * 53) & 0xff;
  levels.agentAudio("u1", agent);
  levels.callerTurn(0.2);
  // The inbound frame after decode, as a session of the capacity ramp runs it: agent audio playing (paced
  // to a no-op socket, marks never echoed), the caller's frames through the level floor, WebRTC VAD, endpointer, policy.
  const abort = new AbortController();
  const playout = new Playout({
    streamSid: sid,
    send: () => undefined,
    chunkMs: cfg.PLAYOUT_CHUNK_MS,
    leadMs: cfg.PLAYOUT_LEAD_MS,
    markMs: cfg.PLAYOUT_MARK_MS,
    onDone: () => undefined,
    schedule: () => () => undefined,
  });
  playout.pushSpoken({ utteranceId: "u1", seq: 0, last: false, generation: 1, purpose: "reply", text: "hello" }, agent);
  const loop = new SpeechLoop({
    pipeline: openPipeline({ vad: vadEngine, stt: quietStt }, { callId: "c1", signal: abort.signal }),
    playout,
    policy: new BargeInPolicy(bargeInConfig(cfg)),
    thinkingWindowMs: cfg.BARGE_IN_THINKING_WINDOW_MS,
    levels: { echoGuardDb: 9, callerFloorDb: 12 },
    countsAsWords: () => true,
    emit: () => undefined,
    onCallerFinal: () => undefined,
    onFalseInterruption: () => 0,
    log: testLogger("hot-path", "silent").log,
  });
  const hdrs = audioHeaderRecord({
    callId: "c1",
    utteranceId: "u1",
    seq: 3,
    last: false,
    generation: 2,
    purpose: "reply",
  });
  // A call's hash as the store holds it mid-call (HGETALL: every value a string).
  const callHash: Record<string, string> = {
    callId: "c1234567890abcdef",
    state: "in-progress",
    direction: "outbound",
    mode: "conversation",
    channel: "twilio",
    engine: "pipeline",
    from: "+14155550100",
    to: "+14155550101",
    callSid: "CA" + "a".repeat(32),
    greeting: "Hello, this is the clinic calling about your appointment.",
    greetingPlayed: "0",
    agentOptions: '{"systemPrompt":"x"}',
    agentOwner: "agent-1",
    mediaOwner: "media-0/" + sid,
    streamSid: sid,
    streamCount: "1",
    generation: "3",
    lastFinalTs: "1796163229289",
    lastFinalText: "yes please",
    handledFinalTs: "1796163229289",
    createdAt: "1796163229289",
    updatedAt: "1796163229289",
    answeredAt: "1796163229289",
  };
  const out = [
    time("parseInbound(media): Twilio's exact text, validated by one regex", n, (i) => parseInbound(frames[i & 63])),
    time("parseInboundJson(media): JSON.parse + validate", n, (i) => parseInboundJson(frames[i & 63]!)),
    time("parseInbound(mark)", n, () => parseInbound(mark)),
    time("base64 decode (mediaAudio)", n, () => mediaAudio(parsed)),
    time("mu-law decode", n, () => decodeMulawInto(mu, pcm)),
    time("mu-law decode + WebRTC VAD", n / 4, () => vad.isSpeech(decodeMulawInto(mu, pcm))),
    time("outbound media + mark encode", n, (i) => (mediaMessage(sid, mu), markMessage(sid, `u1:${i}`))),
    time("LevelFloor.floor (per inbound frame while agent audio plays)", n, () => levels.floor("u1")),
    time("voicedRms of a 200 ms agent chunk (per chunk from the bus)", n / 10, () => voicedRms(agent)),
    time("parseAudioHeaders (per chunk from the bus)", n, () => parseAudioHeaders(hdrs)),
    time("AudioChunkHeaders.parse (zod, the fallback)", n, () => AudioChunkHeaders.parse(hdrs)),
    time("SpeechLoop.push: floor + VAD + endpointer + policy (STT a no-op)", n / 4, () => loop.push(mu)),
    time("CallRecord.parse of a call's hash (zod, every read of a call before)", n / 10, () =>
      CallRecord.parse(callHash),
    ),
    time("callRecordFromHash (the same rules by hand)", n / 10, () => callRecordFromHash(callHash)),
  ];
  loop.close();
  abort.abort();
  vad.close();
  return out;
}

if (process.argv[1]?.endsWith("hot-path.ts")) {
  for (const r of await hotPath()) console.log(`${r.usPerOp.toFixed(3).padStart(8)} µs  ${r.label}`);
}
