import { mulawDecode, mulawEncode, rms } from "@voicecall/audio";
import { synthesize } from "@voicecall/twilio-sim";

/**
 * The bench's scripted non-turns: what a caller's line carries while the agent talks that is not the
 * caller taking the turn. Sounds are synthesised (deterministic PRNG, 8 kHz) so every run plays the same
 * audio; murmurs and background speech are flite `rms`, like the caller's own voice. Levels are relative
 * to that voice (its voiced RMS, ≈ −17 dBFS), so "−20 dB" means 20 dB below the caller.
 */
export interface Noise {
  name: string;
  /** Mu-law audio to play from the caller's side; absent for `echo`, which is made from what is heard. */
  mu?: Uint8Array;
  /** `echo`: for `ms`, the caller's line carries the agent's own played audio back, `gainDb` down, `delayMs` late. */
  echo?: { ms: number; gainDb: number; delayMs: number };
}

const SR = 8;

/** xorshift32: the same sounds every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296 - 0.5;
  };
}

/** Sum `parts` (float −1..1 at 8 kHz) into one buffer `ms` long, clipped, as mu-law. */
function render(ms: number, fill: (out: Float32Array) => void): Uint8Array {
  const out = new Float32Array(ms * SR);
  fill(out);
  const pcm = new Int16Array(out.length);
  for (let i = 0; i < out.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(out[i]! * 32767)));
  return mulawEncode(pcm);
}

/** Band-limited noise burst at `atMs`: one-pole low-pass (`lp` 0..1, smaller = darker), attack/decay envelope. */
function burst(
  out: Float32Array,
  atMs: number,
  ms: number,
  amp: number,
  lp: number,
  seed: number,
  attackMs = 10,
): void {
  const r = prng(seed);
  let y = 0;
  const n = ms * SR;
  for (let i = 0; i < n && atMs * SR + i < out.length; i++) {
    y += lp * (r() * 2 - y);
    const env = Math.min(1, i / (attackMs * SR)) * Math.exp((-4 * i) / n);
    out[atMs * SR + i]! += y * amp * env;
  }
}

/** A damped sinusoid (a knock's body, a door's thump). */
function thump(out: Float32Array, atMs: number, hz: number, decayMs: number, amp: number): void {
  for (let i = 0; i < decayMs * 5 * SR && atMs * SR + i < out.length; i++) {
    out[atMs * SR + i]! += amp * Math.sin((2 * Math.PI * hz * i) / 8000) * Math.exp(-i / (decayMs * SR));
  }
}

/** Scale mu-law audio by `db`. */
function gain(mu: Uint8Array, db: number): Uint8Array {
  const g = 10 ** (db / 20);
  const pcm = mulawDecode(mu);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(pcm[i]! * g);
  return mulawEncode(pcm);
}

export async function scriptedNoises(trim: (mu: Uint8Array) => Uint8Array): Promise<Noise[]> {
  const say = async (t: string) => trim(await synthesize(t));
  return [
    // Two coughs: a sharp broadband onset with a darker tail, 180 ms apart.
    { name: "cough", mu: render(700, (o) => (burst(o, 0, 260, 0.7, 0.6, 7, 8), burst(o, 440, 220, 0.6, 0.6, 9, 8))) },
    // Three knocks on a door or desk: a click on a 180 Hz body, 220 ms apart.
    {
      name: "knock",
      mu: render(800, (o) =>
        [0, 220, 440].forEach((t, k) => (burst(o, t, 15, 0.8, 0.9, 11 + k, 1), thump(o, t, 180, 25, 0.6))),
      ),
    },
    // A breath into the mouthpiece: quiet, dark, slow rise and fall.
    { name: "breath", mu: render(700, (o) => burst(o, 0, 700, 0.12, 0.15, 13, 250)) },
    // A door closing: a low thump, a latch click and a short rattle.
    {
      name: "door",
      mu: render(
        900,
        (o) => (thump(o, 0, 70, 60, 0.8), burst(o, 0, 60, 0.5, 0.7, 17, 2), burst(o, 150, 300, 0.2, 0.5, 19, 5)),
      ),
    },
    // Typing: 14 clicks at 90–160 ms intervals.
    {
      name: "keyboard",
      mu: render(1900, (o) => {
        const r = prng(23);
        for (let t = 0, k = 0; k < 14; k++, t += 90 + Math.round((r() + 0.5) * 70))
          burst(o, t, 12, 0.5, 0.95, 29 + k, 1);
      }),
    },
    { name: "uh huh", mu: await say("uh huh") },
    { name: "mm hmm", mu: await say("mm hmm") },
    { name: "yeah", mu: await say("yeah") },
    { name: "right", mu: await say("right") },
    // Someone else talking in the room, 20 dB below the caller.
    {
      name: "background speech −20 dB",
      mu: gain(await say("i told him we would meet at the station after work tomorrow"), -20),
    },
    // Speakerphone: the agent's own voice comes back 15 dB down, 150 ms late, for two seconds.
    { name: "own voice echo −15 dB", echo: { ms: 2000, gainDb: -15, delayMs: 150 } },
  ];
}

/** RMS of the voiced part of mu-law audio (frames above −40 dBFS), 0..1. */
export function voicedLevel(mu: Uint8Array): number {
  const pcm = mulawDecode(mu);
  const loud: number[] = [];
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    const r = rms(pcm.subarray(i, i + 160));
    if (r > 0.01) loud.push(r * r);
  }
  return loud.length ? Math.sqrt(loud.reduce((a, b) => a + b, 0) / loud.length) : 0;
}

/** One 20 ms frame of `played` audio as heard `delayMs` ago, scaled by `gainDb`, mixed into `frame` (or silence). */
export function echoFrame(
  heardAt: (absMs: number, bytes: number) => Uint8Array | undefined,
  nowAbs: number,
  e: { gainDb: number; delayMs: number },
  frame?: Uint8Array,
): Uint8Array {
  const src = heardAt(nowAbs - e.delayMs - 20, 160);
  if (!src) return frame ?? new Uint8Array(160).fill(0xff);
  const g = 10 ** (e.gainDb / 20);
  const a = mulawDecode(src);
  const b = frame ? mulawDecode(frame) : undefined;
  const out = new Int16Array(160);
  for (let i = 0; i < 160; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round((a[i] ?? 0) * g + (b?.[i] ?? 0))));
  return mulawEncode(out);
}

/**
 * The bench's noises and `phrases` (flite, as `"phrase"`), each as 8 kHz PCM with 200 ms of silence either
 * side: what the offline decode benches (open-posteriors, open-second-opinion) feed the recogniser.
 */
export async function paddedSounds(
  phrases: string[],
  trim: (mu: Uint8Array) => Uint8Array,
): Promise<[string, Int16Array][]> {
  const pad = (mu: Uint8Array) => {
    const pcm = mulawDecode(mu);
    const out = new Int16Array(pcm.length + 3200);
    out.set(pcm, 1600);
    return out;
  };
  const items: [string, Int16Array][] = [];
  for (const n of await scriptedNoises(trim)) if (n.mu) items.push([n.name, pad(n.mu)]);
  for (const t of phrases) items.push([`"${t}"`, pad(trim(await synthesize(t)))]);
  return items;
}
