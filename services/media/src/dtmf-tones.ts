import { mulawEncode, SAMPLE_RATE } from "@voicecall/audio";

/** DTMF pairs (low Hz, high Hz), ITU-T Q.23. */
const PAIRS: Record<string, [number, number]> = {
  "1": [697, 1209],
  "2": [697, 1336],
  "3": [697, 1477],
  A: [697, 1633],
  "4": [770, 1209],
  "5": [770, 1336],
  "6": [770, 1477],
  B: [770, 1633],
  "7": [852, 1209],
  "8": [852, 1336],
  "9": [852, 1477],
  C: [852, 1633],
  "*": [941, 1209],
  "0": [941, 1336],
  "#": [941, 1477],
  D: [941, 1633],
};

export interface DtmfOptions {
  /** Tone length per digit (Q.24 asks for ≥ 40 ms; carriers like ~100). Default 100. */
  toneMs?: number;
  /** Silence after each digit. Default 100. */
  gapMs?: number;
  /** `w` in the digit string: wait this long. Default 500. */
  waitMs?: number;
}

/** In-band DTMF for a digit string (`0-9*#A-D`, `w` = pause) as 8 kHz mu-law. */
export function dtmfTones(digits: string, o: DtmfOptions = {}): Uint8Array {
  const toneN = Math.round(((o.toneMs ?? 100) * SAMPLE_RATE) / 1000);
  const gapN = Math.round(((o.gapMs ?? 100) * SAMPLE_RATE) / 1000);
  const waitN = Math.round(((o.waitMs ?? 500) * SAMPLE_RATE) / 1000);
  let total = 0;
  for (const d of digits) total += d === "w" ? waitN : PAIRS[d] ? toneN + gapN : 0;
  const pcm = new Int16Array(total);
  let at = 0;
  for (const d of digits) {
    if (d === "w") {
      at += waitN;
      continue;
    }
    const pair = PAIRS[d];
    if (!pair) continue;
    // Each tone at about -9 dBFS so their sum does not clip.
    for (let i = 0; i < toneN; i++) {
      const t = i / SAMPLE_RATE;
      pcm[at + i] = Math.round(11_000 * (Math.sin(2 * Math.PI * pair[0] * t) + Math.sin(2 * Math.PI * pair[1] * t)));
    }
    at += toneN + gapN;
  }
  return mulawEncode(pcm);
}

/** Strongest DTMF digit in 8 kHz PCM by Goertzel power (used to test the generator). */
export function detectDigit(pcm: Int16Array): string | undefined {
  const power = (f: number) => {
    const k = 2 * Math.cos((2 * Math.PI * f) / SAMPLE_RATE);
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < pcm.length; i++) {
      const s = pcm[i]! + k * s1 - s2;
      s2 = s1;
      s1 = s;
    }
    return s1 * s1 + s2 * s2 - k * s1 * s2;
  };
  const lows = [697, 770, 852, 941];
  const highs = [1209, 1336, 1477, 1633];
  const best = (fs: number[]) => fs.reduce((a, b) => (power(b) > power(a) ? b : a));
  const lo = best(lows);
  const hi = best(highs);
  if (power(lo) < 1e9) return undefined;
  return Object.entries(PAIRS).find(([, p]) => p[0] === lo && p[1] === hi)?.[0];
}
