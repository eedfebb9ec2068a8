/**
 * Linear-interpolation resampler for 16-bit PCM. Good enough for speech into an 8 kHz phone
 * channel when downsampling with a preceding low-pass (`lowpass` below); stateless.
 */
export function resample(pcm: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return pcm;
  const src = to < from ? lowpass(pcm, from, to / 2) : pcm;
  const n = Math.floor((src.length * to) / from);
  const out = new Int16Array(n);
  const step = from / to;
  for (let i = 0; i < n; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const i1 = Math.min(i0 + 1, src.length - 1);
    const f = x - i0;
    out[i] = Math.round(src[i0]! * (1 - f) + src[i1]! * f);
  }
  return out;
}

/** Windowed-sinc FIR low-pass (31 taps), to avoid aliasing when downsampling. */
function lowpass(pcm: Int16Array, rate: number, cutoffHz: number): Int16Array {
  const taps = 31;
  const fc = (cutoffHz * 0.9) / rate;
  const h = new Float64Array(taps);
  let sum = 0;
  for (let i = 0; i < taps; i++) {
    const m = i - (taps - 1) / 2;
    const sinc = m === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * m) / (Math.PI * m);
    const w = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (taps - 1));
    h[i] = sinc * w;
    sum += h[i]!;
  }
  const out = new Int16Array(pcm.length);
  const half = (taps - 1) / 2;
  for (let n = 0; n < pcm.length; n++) {
    let acc = 0;
    for (let k = 0; k < taps; k++) {
      const j = n + k - half;
      if (j >= 0 && j < pcm.length) acc += pcm[j]! * h[k]!;
    }
    out[n] = Math.max(-32768, Math.min(32767, Math.round(acc / sum)));
  }
  return out;
}
