/** Root-mean-square level of 16-bit PCM, 0..1. */
export function rms(pcm: Int16Array): number {
  if (pcm.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < pcm.length; i++) s += pcm[i]! * pcm[i]!;
  return Math.sqrt(s / pcm.length) / 32768;
}

/** Milliseconds (rounded down to `windowMs`) whose RMS exceeds `threshold`: a crude "how much speech". */
export function voicedMs(pcm: Int16Array, sampleRate: number, threshold = 0.01, windowMs = 20): number {
  const w = Math.round((sampleRate * windowMs) / 1000);
  let voiced = 0;
  for (let i = 0; i + w <= pcm.length; i += w) if (rms(pcm.subarray(i, i + w)) > threshold) voiced += windowMs;
  return voiced;
}
