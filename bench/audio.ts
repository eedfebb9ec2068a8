import { FRAME_BYTES, mulawDecode, mulawEncode, rms } from "@voicecall/audio";
import { synthesize } from "@voicecall/twilio-sim";

/** Caller audio the bench speaks, rendered once per run (flite `rms`, 8 kHz mu-law). */
export interface CallerAudio {
  /** The turn the agent answers. */
  question: Uint8Array;
  /** Scripted non-turns for the false-interruption count (offline scenario). */
  noises: { name: string; mu: Uint8Array }[];
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

/** Deterministic noise burst (a cough-like broadband burst with a decay), 8 kHz mu-law. */
function burst(ms: number, amp: number, seed: number): Uint8Array {
  const n = ms * 8;
  const pcm = new Int16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const env = Math.exp((-3 * i) / n);
    pcm[i] = Math.round(((x / 0x7fffffff) * 2 - 1) * amp * env * 32767);
  }
  return mulawEncode(pcm);
}

export async function callerAudio(withNoises: boolean): Promise<CallerAudio> {
  const question = trimSilence(await synthesize("what are your opening hours"));
  if (!withNoises) return { question, noises: [] };
  return {
    question,
    noises: [
      { name: "cough", mu: burst(300, 0.5, 7) },
      { name: "uh-huh", mu: trimSilence(await synthesize("uh huh")) },
      { name: "knock", mu: burst(40, 0.8, 11) },
      { name: "mm-hmm", mu: trimSilence(await synthesize("mm hmm")) },
    ],
  };
}
