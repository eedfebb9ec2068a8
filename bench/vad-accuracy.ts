/**
 * VAD segmentation accuracy and per-frame cost: WebRTC vs Silero on the same synthetic callers.
 * Run: npx tsx bench/vad-accuracy.ts
 * Each phrase of `test-phrases.ts` × each voice: 800 ms silence, speech, 1200 ms silence (8 kHz mu-law)
 * → 20 ms frames → VAD → endpointer (defaults). Boundary error = VAD boundary − true boundary (positive = late)
 * (first/last sample above −40 dBFS). Also white noise alone (no speech) at a few levels.
 * Cost = wall time per frame with the inference awaited (µs per 20 ms frame, amortised). Prints Markdown.
 */
import { mulawEncode } from "@voicecall/audio";
import type { VoiceActivityDetector } from "../services/media/src/speech/types";
import { createSileroVad, sileroSettled } from "../services/media/src/speech/vad-silero";
import { createWebrtcVad } from "../services/media/src/speech/vad-webrtc";
import { callerTurn, TEST_VOICES, PHRASES, segmentWith, speechSpan } from "@voicecall/media/testing";

function noise(ms: number, rms: number): Uint8Array {
  const pcm = new Int16Array(ms * 8);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round((Math.random() * 2 - 1) * Math.sqrt(3) * rms * 32767);
  return mulawEncode(pcm);
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const turns: { voice: string; mu: Uint8Array }[] = [];
for (const voice of TEST_VOICES)
  for (const text of PHRASES) turns.push({ voice, mu: await callerTurn(voice, text, 800, 1200) });

const vads: [VoiceActivityDetector, () => Promise<void>][] = [
  [await createWebrtcVad({ mode: 3 }), () => Promise.resolve()],
  [await createSileroVad({ threshold: 0.5 }), sileroSettled],
];
for (const [vad, settle] of vads) for (const t of turns.slice(0, 5)) await segmentWith(vad, t.mu, { settle }); // warm up (JIT, WASM)
console.log(
  "| VAD | voice | turns | exactly one segment | start error (VAD − true) median / min / max ms | end error median / min / max ms | µs per frame |",
);
console.log("|---|---|---|---|---|---|---|");
for (const [vad, settle] of vads) {
  for (const voice of [...TEST_VOICES, "all"]) {
    const mine = turns.filter((t) => voice === "all" || t.voice === voice);
    const se: number[] = [],
      ee: number[] = [],
      us: number[] = [];
    let one = 0;
    for (const t of mine) {
      const truth = speechSpan(t.mu);
      const r = await segmentWith(vad, t.mu, { settle });
      us.push(r.usPerFrame);
      if (r.segments.length === 1) one++;
      if (r.segments.length === 0) continue;
      se.push(r.segments[0]!.startMs - truth.startMs);
      ee.push(r.segments.at(-1)!.endMs - truth.endMs);
    }
    const f = (xs: number[]) =>
      xs.length ? `${pct(xs, 0.5).toFixed(0)} / ${Math.min(...xs).toFixed(0)} / ${Math.max(...xs).toFixed(0)}` : "–";
    console.log(
      `| ${vad.label} | ${voice} | ${mine.length} | ${one} | ${f(se)} | ${f(ee)} | ${(us.reduce((a, b) => a + b, 0) / us.length).toFixed(0)} |`,
    );
  }
}
console.log("\n| VAD | white noise RMS (10 s each) | segments |");
console.log("|---|---|---|");
for (const [vad, settle] of vads) {
  for (const rms of [0.001, 0.003, 0.01, 0.03]) {
    const r = await segmentWith(vad, noise(10_000, rms), { settle });
    console.log(`| ${vad.label} | ${rms} | ${r.segments.length} |`);
  }
}
