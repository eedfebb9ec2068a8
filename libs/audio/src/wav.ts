/** Minimal RIFF/WAVE reader and writer for 16-bit PCM and 8-bit mu-law mono. */
export interface Pcm {
  sampleRate: number;
  samples: Int16Array;
}

import { mulawDecode } from "./mulaw";

export function readWav(buf: Uint8Array): Pcm {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (o: number) => String.fromCharCode(buf[o]!, buf[o + 1]!, buf[o + 2]!, buf[o + 3]!);
  if (buf.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error("not a RIFF/WAVE file");
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = tag(off);
    const size = dv.getUint32(off + 4, true);
    const body = off + 8;
    if (id === "fmt ") {
      fmt = {
        format: dv.getUint16(body, true),
        channels: dv.getUint16(body + 2, true),
        rate: dv.getUint32(body + 4, true),
        bits: dv.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (!fmt) throw new Error("WAVE data before fmt chunk");
      // Streaming writers (sox to a pipe) put 0xFFFFFFFF as size: read to the end.
      const end = Math.min(buf.length, size === 0xffffffff ? buf.length : body + size);
      const data = buf.subarray(body, end);
      let mono: Int16Array;
      if (fmt.format === 7 && fmt.bits === 8) mono = mulawDecode(data);
      else if (fmt.format === 1 && fmt.bits === 16)
        mono = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + (data.length & ~1)));
      else throw new Error(`unsupported WAVE format ${fmt.format}/${fmt.bits} bits`);
      if (fmt.channels > 1) mono = mono.filter((_, i) => i % fmt!.channels === 0);
      return { sampleRate: fmt.rate, samples: mono };
    }
    off = body + size + (size & 1);
  }
  throw new Error("WAVE file has no data chunk");
}

/** 16-bit PCM mono WAV. */
export function writeWav(samples: Int16Array, sampleRate: number): Uint8Array {
  const data = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = new Uint8Array(44 + data.length);
  const dv = new DataView(out.buffer);
  const put = (o: number, s: string) => [...s].forEach((c, i) => (out[o + i] = c.charCodeAt(0)));
  put(0, "RIFF");
  dv.setUint32(4, 36 + data.length, true);
  put(8, "WAVE");
  put(12, "fmt ");
  dv.setUint32(16, 16, true);
  dv.setUint16(20, 1, true);
  dv.setUint16(22, 1, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, sampleRate * 2, true);
  dv.setUint16(32, 2, true);
  dv.setUint16(34, 16, true);
  put(36, "data");
  dv.setUint32(40, data.length, true);
  out.set(data, 44);
  return out;
}
