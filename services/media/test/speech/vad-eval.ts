/**
 * Test/benchmark helpers for VADs (not used by the service): run a recording through a VAD and the
 * endpointer frame by frame, and find where the speech really is.
 */
import { FRAME_BYTES, mulawDecode } from "@voicecall/audio";
import { Endpointer, type EndpointEvent, type EndpointerOptions } from "../../src/speech/endpointer";
import { decodeMulawInto } from "../../src/speech/mulaw-frame";
import type { VoiceActivityDetector } from "../../src/speech/types";

export interface Segment {
  startMs: number;
  endMs: number;
}

/** First/last sample louder than -40 dBFS: where the speech really is, in ms. */
export function speechSpan(mu: Uint8Array): Segment {
  const pcm = mulawDecode(mu);
  const loud = (i: number) => Math.abs(pcm[i]!) > 328;
  let a = 0;
  while (a < pcm.length && !loud(a)) a++;
  let b = pcm.length - 1;
  while (b > 0 && !loud(b)) b--;
  return { startMs: a / 8, endMs: b / 8 };
}

/**
 * Segments `mu` with `vad` + the endpointer, yielding to the event loop after every frame (as a live
 * stream does: one frame per socket message), so asynchronous VADs see their inference land.
 * `settle` (optional) is awaited after each frame instead, e.g. `sileroSettled`.
 * `usPerFrame`: wall time per 20 ms frame including the awaited inference (amortised).
 */
export async function segmentWith(
  vad: VoiceActivityDetector,
  mu: Uint8Array,
  o: { endpointer?: EndpointerOptions; settle?: () => Promise<void> } = {},
): Promise<{ segments: Segment[]; usPerFrame: number; frames: number }> {
  const s = vad.open();
  const ep = new Endpointer(o.endpointer);
  const pcm = new Int16Array(FRAME_BYTES);
  const segments: Segment[] = [];
  const on = (e: EndpointEvent | undefined) => {
    if (e?.type === "speech.stopped") segments.push({ startMs: e.atMs - e.durationMs, endMs: e.atMs });
  };
  const settle = o.settle ?? (() => new Promise<void>((r) => setImmediate(r)));
  let frames = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES, frames++) {
    on(ep.push(s.isSpeech(decodeMulawInto(mu.subarray(i, i + FRAME_BYTES), pcm)), pcm));
    await settle();
  }
  const usPerFrame = Number(process.hrtime.bigint() - t0) / 1000 / Math.max(1, frames);
  on(ep.flush());
  s.close();
  return { segments, usPerFrame, frames };
}
