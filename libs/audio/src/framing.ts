import { FRAME_BYTES, MULAW_SILENCE } from "./mulaw";

/** Split mu-law into 20 ms frames; the last one is padded with silence. */
export function toFrames(mu: Uint8Array, size = FRAME_BYTES): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < mu.length; i += size) {
    const f = mu.subarray(i, i + size);
    if (f.length === size) out.push(f);
    else {
      const padded = new Uint8Array(size).fill(MULAW_SILENCE);
      padded.set(f);
      out.push(padded);
    }
  }
  return out;
}

/** Re-chunk an async stream of arbitrary-size chunks into fixed frames (last padded). */
export async function* reframe(chunks: AsyncIterable<Uint8Array>, size = FRAME_BYTES): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(0);
  for await (const c of chunks) {
    const next = new Uint8Array(buf.length + c.length);
    next.set(buf);
    next.set(c, buf.length);
    buf = next;
    let off = 0;
    while (buf.length - off >= size) {
      yield buf.slice(off, off + size);
      off += size;
    }
    buf = buf.slice(off);
  }
  if (buf.length > 0) yield toFrames(buf, size)[0]!;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
