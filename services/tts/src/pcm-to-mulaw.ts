import { mulawEncode, resample } from "@voicecall/audio";

/**
 * Streams 16-bit little-endian PCM at `fromRate` Hz into 8 kHz mu-law, chunk by chunk.
 * `resample` is stateless, so each block is resampled with `ctx` input samples of context on both
 * sides (more than the low-pass filter's half-width) and only the middle is kept: block edges are
 * seamless when `fromRate` is a multiple of 8000 (24 kHz OpenAI PCM, 16 kHz flite), and close otherwise.
 */
export class PcmToMulaw {
  private pending: Int16Array = new Int16Array(0);
  private history: Int16Array = new Int16Array(0);
  private oddByte: number | undefined;
  private readonly ratio: number;
  private readonly ctx: number;

  constructor(private readonly fromRate: number) {
    this.ratio = fromRate / 8000;
    this.ctx = Math.ceil(this.ratio) * 16;
  }

  /** Feed raw PCM bytes (any length, odd lengths carried); returns the mu-law ready so far (may be empty). */
  push(bytes: Uint8Array): Uint8Array {
    let b = bytes;
    if (this.oddByte !== undefined) {
      b = new Uint8Array(bytes.length + 1);
      b[0] = this.oddByte;
      b.set(bytes, 1);
      this.oddByte = undefined;
    }
    if (b.length % 2 === 1) {
      this.oddByte = b[b.length - 1];
      b = b.subarray(0, b.length - 1);
    }
    const samples = new Int16Array(b.length / 2);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < samples.length; i++) samples[i] = dv.getInt16(i * 2, true);
    return this.pushSamples(samples);
  }

  /** Feed PCM samples; returns the mu-law ready so far. */
  pushSamples(samples: Int16Array): Uint8Array {
    this.pending = join(this.pending, samples);
    // Keep `ctx` samples of look-ahead; emit a whole number of output samples.
    const step = Math.ceil(this.ratio);
    const n = Math.floor((this.pending.length - this.ctx) / step) * step;
    if (n <= 0) return new Uint8Array(0);
    return this.emit(n, this.ctx);
  }

  /** Everything left (no look-ahead needed at the end of the stream). */
  flush(): Uint8Array {
    if (this.pending.length === 0) return new Uint8Array(0);
    return this.emit(this.pending.length, 0);
  }

  private emit(n: number, lookahead: number): Uint8Array {
    const input = join(this.history, this.pending.subarray(0, n + lookahead));
    const out = resample(input, this.fromRate, 8000);
    const start = Math.round(this.history.length / this.ratio);
    const end = Math.round((this.history.length + n) / this.ratio);
    const mu = mulawEncode(out.subarray(start, Math.min(end, out.length)));
    const consumed = join(this.history, this.pending.subarray(0, n));
    this.history = consumed.slice(Math.max(0, consumed.length - this.ctx));
    this.pending = this.pending.slice(n);
    return mu;
  }
}

function join(a: Int16Array, b: Int16Array): Int16Array {
  if (a.length === 0) return b.slice();
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
