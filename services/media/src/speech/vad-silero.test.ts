import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FRAME_BYTES, mulawEncode } from "@voicecall/audio";
import { parseConfig } from "@voicecall/config";
import { speechConfigSchema } from "./config";
import { createSpeechPipelineFactory, type SpeechFactory } from "./factory";
import { callerTurn } from "../../test/speech/synth-speech";
import { decodeMulawInto } from "./mulaw-frame";
import { phraseGrammar } from "../../test/speech/test-phrases";
import type { SpeechEvent, SpeechPipeline, VoiceActivityDetector } from "./types";
import { segmentWith, speechSpan } from "../../test/speech/vad-eval";
import { createSileroVad } from "./vad-silero";
import { createWebrtcVad } from "./vad-webrtc";

/** Deterministic white noise at `rms` (0..1 of full scale), as mu-law. */
function noise(ms: number, rms: number, seed = 1): Uint8Array {
  const pcm = new Int16Array(ms * 8);
  let x = seed;
  for (let i = 0; i < pcm.length; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    pcm[i] = Math.round((x / 0x7fffffff - 0.5) * 2 * Math.sqrt(3) * rms * 32767);
  }
  return mulawEncode(pcm);
}

/** Push frames one per event-loop turn (as a live socket delivers them), close, gather events. */
async function feedLive(p: SpeechPipeline, mu: Uint8Array): Promise<SpeechEvent[]> {
  const out: SpeechEvent[] = [];
  const done = (async () => {
    for await (const e of p.events) out.push(e);
  })();
  for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) {
    p.push(mu.subarray(i, i + FRAME_BYTES));
    await new Promise((r) => setImmediate(r));
  }
  p.close();
  await done;
  return out;
}

describe("Silero VAD (v5 model from @ricky0123/vad-web, onnxruntime-web WASM)", () => {
  let silero: VoiceActivityDetector;
  let webrtc: VoiceActivityDetector;
  beforeAll(async () => {
    silero = await createSileroVad();
    webrtc = await createWebrtcVad({ mode: 3 });
  });

  it("segments a flite sentence between silences within 150 ms of the true and the WebRTC boundaries", async () => {
    const mu = await callerTurn("flite:kal16", "i want to book an appointment", 1000, 1500);
    const truth = speechSpan(mu);
    const s = await segmentWith(silero, mu);
    const w = await segmentWith(webrtc, mu);
    expect(s.segments).toHaveLength(1);
    expect(w.segments).toHaveLength(1);
    const [seg] = s.segments;
    expect(Math.abs(seg!.startMs - truth.startMs)).toBeLessThanOrEqual(150);
    expect(Math.abs(seg!.endMs - truth.endMs)).toBeLessThanOrEqual(150);
    expect(Math.abs(seg!.startMs - w.segments[0]!.startMs)).toBeLessThanOrEqual(150);
    expect(Math.abs(seg!.endMs - w.segments[0]!.endMs)).toBeLessThanOrEqual(150);
  });

  it("finds no speech in digital silence or low white noise", async () => {
    const quiet = new Uint8Array(8000 * 2).fill(0xff);
    expect((await segmentWith(silero, quiet)).segments).toEqual([]);
    for (const rms of [0.003, 0.01]) expect((await segmentWith(silero, noise(3000, rms))).segments).toEqual([]);
  });

  it("keeps state per stream: a speaking stream does not make a silent one speak", async () => {
    const speech = await callerTurn("flite:rms", "what are your opening hours", 200, 200);
    const a = silero.open();
    const b = silero.open();
    const pcm = new Int16Array(FRAME_BYTES);
    const zeros = new Int16Array(FRAME_BYTES);
    let aSpoke = false;
    let bSpoke = false;
    for (let i = 0; i + FRAME_BYTES <= speech.length; i += FRAME_BYTES) {
      aSpoke = a.isSpeech(decodeMulawInto(speech.subarray(i, i + FRAME_BYTES), pcm)) || aSpoke;
      bSpoke = b.isSpeech(zeros) || bSpoke;
      await new Promise((r) => setImmediate(r));
    }
    a.close();
    b.close();
    expect(aSpoke).toBe(true);
    expect(bSpoke).toBe(false);
  });
});

describe("speech pipeline with VAD_PROVIDER=silero and pocketsphinx", () => {
  let factory: SpeechFactory;
  beforeAll(async () => {
    const cfg = parseConfig(speechConfigSchema, { VAD_PROVIDER: "silero" });
    factory = await createSpeechPipelineFactory(cfg, { grammar: phraseGrammar() });
  });
  afterAll(() => factory?.close());

  it("recognises a flite phrase exactly with a grammar", async () => {
    expect(factory.vadLabel).toMatch(/^silero/);
    const mu = await callerTurn("flite:rms", "i want to book an appointment", 600, 1000);
    const ev = await feedLive(factory.open({ callId: "silero", signal: new AbortController().signal }), mu);
    expect(ev.filter((e) => e.type === "speech.started")).toHaveLength(1);
    expect(ev.filter((e) => e.type === "transcript.final").map((e) => (e as { text: string }).text)).toEqual([
      "i want to book an appointment",
    ]);
  });
});
