import { FRAME_BYTES, mulawDecode, rms } from "@voicecall/audio";
import { synthesize } from "@voicecall/twilio-sim";
import { scriptedNoises, type Noise } from "./noises";

/** Caller audio the bench speaks, rendered once per run (flite `rms`, 8 kHz mu-law). */
export interface CallerAudio {
  /** The turn the agent answers. */
  question: Uint8Array;
  /** Scripted non-turns for the false-interruption count (offline scenario). */
  noises: Noise[];
}

/** Drop leading/trailing frames quieter than `floor` so onset and end of speech are the first/last frame sent. */
export function trimSilence(mu: Uint8Array, floor = 0.01): Uint8Array {
  const frames = Math.floor(mu.length / FRAME_BYTES);
  const loud = (i: number) => rms(mulawDecode(mu.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES))) > floor;
  let a = 0;
  let b = frames - 1;
  while (a < frames && !loud(a)) a++;
  while (b > a && !loud(b)) b--;
  return mu.slice(a * FRAME_BYTES, (b + 1) * FRAME_BYTES);
}

export async function callerAudio(withNoises: boolean): Promise<CallerAudio> {
  const question = trimSilence(await synthesize("what are your opening hours"));
  if (!withNoises) return { question, noises: [] };
  return { question, noises: await scriptedNoises((mu) => trimSilence(mu)) };
}
