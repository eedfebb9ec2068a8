import { describe, expect, it } from "vitest";
import { concat, mulawEncode, resample } from "@voicecall/audio";
import { PcmToMulaw } from "./pcm-to-mulaw";

/** A 24 kHz test signal: two tones, 1 s. */
function tone(rate: number, n: number): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++)
    s[i] = Math.round(
      8000 * Math.sin((2 * Math.PI * 440 * i) / rate) + 4000 * Math.sin((2 * Math.PI * 1300 * i) / rate),
    );
  return s;
}

describe("PcmToMulaw (streaming resample + mu-law)", () => {
  it("streamed in odd-sized byte chunks equals resampling the whole buffer at once", () => {
    const pcm = tone(24000, 24000);
    const bytes = new Uint8Array(pcm.buffer);
    const conv = new PcmToMulaw(24000);
    const parts: Uint8Array[] = [];
    for (let off = 0, k = 0; off < bytes.length; k++) {
      const n = [1, 333, 4097, 7, 1200][k % 5]!;
      parts.push(conv.push(bytes.subarray(off, off + n)));
      off += n;
    }
    parts.push(conv.flush());
    const streamed = concat(parts);
    const whole = mulawEncode(resample(pcm, 24000, 8000));
    expect(streamed.length).toBe(whole.length);
    expect(Buffer.from(streamed).equals(Buffer.from(whole))).toBe(true);
  });
});
