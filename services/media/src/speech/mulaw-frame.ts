/** G.711 mu-law byte → 16-bit PCM, as a 256-entry table: decoding a frame allocates nothing. */
export const MULAW_TABLE: Int16Array = (() => {
  const t = new Int16Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    const sign = u & 0x80;
    const exponent = (u >> 4) & 0x07;
    const mantissa = u & 0x0f;
    const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    t[i] = sign ? -magnitude : magnitude;
  }
  return t;
})();

/** Decode `mu` into `out` (same length or longer); returns the filled view. */
export function decodeMulawInto(mu: Uint8Array, out: Int16Array): Int16Array {
  const n = Math.min(mu.length, out.length);
  for (let i = 0; i < n; i++) out[i] = MULAW_TABLE[mu[i]!]!;
  return n === out.length ? out : out.subarray(0, n);
}
