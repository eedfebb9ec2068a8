import { describe, expect, it } from "vitest";
import { mulawDecode, mulawEncode, silence, MULAW_SILENCE } from "./mulaw";
import { toFrames, reframe, concat } from "./framing";
import { resample } from "./resample";
import { readWav, writeWav } from "./wav";
import { rms, voicedMs } from "./measure";

const tone = (hz: number, ms: number, rate: number, amp = 8000) =>
  Int16Array.from({ length: Math.round((rate * ms) / 1000) }, (_, i) =>
    Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate)),
  );

describe("audio", () => {
  it("mu-law round trip keeps the signal within G.711 quantisation", () => {
    const pcm = tone(440, 100, 8000);
    const back = mulawDecode(mulawEncode(pcm));
    let maxErr = 0;
    for (let i = 0; i < pcm.length; i++) maxErr = Math.max(maxErr, Math.abs(pcm[i]! - back[i]!));
    expect(maxErr).toBeLessThan(300);
    expect(mulawEncode(new Int16Array(4))[0]).toBe(MULAW_SILENCE);
  });
  it("frames into 160-byte chunks and pads the last", () => {
    const f = toFrames(new Uint8Array(330).fill(1));
    expect(f.map((x) => x.length)).toEqual([160, 160, 160]);
    expect(f[2]![10]).toBe(MULAW_SILENCE);
    expect(f[2]![9]).toBe(1);
  });
  it("reframes an async stream of odd-size chunks without losing bytes", async () => {
    async function* src() {
      yield new Uint8Array(100).fill(1);
      yield new Uint8Array(100).fill(2);
      yield new Uint8Array(150).fill(3);
    }
    const out: Uint8Array[] = [];
    for await (const f of reframe(src())) out.push(f);
    expect(out.length).toBe(3);
    const all = concat(out);
    expect(all.slice(0, 350)).toEqual(
      concat([new Uint8Array(100).fill(1), new Uint8Array(100).fill(2), new Uint8Array(150).fill(3)]),
    );
  });
  it("resamples 16 kHz to 8 kHz keeping duration and in-band energy, removing out-of-band", () => {
    const inBand = resample(tone(500, 1000, 16000), 16000, 8000);
    expect(inBand.length).toBe(8000);
    expect(rms(inBand)).toBeGreaterThan(0.15);
    const outOfBand = resample(tone(6000, 1000, 16000), 16000, 8000);
    expect(rms(outOfBand)).toBeLessThan(rms(inBand) / 3);
  });
  it("writes and reads a WAV", () => {
    const pcm = tone(300, 50, 8000);
    const back = readWav(writeWav(pcm, 8000));
    expect(back.sampleRate).toBe(8000);
    expect(Array.from(back.samples)).toEqual(Array.from(pcm));
    expect(() => readWav(new Uint8Array(20))).toThrow(/RIFF/);
  });
  it("measures voiced time", () => {
    const s = concat([mulawEncode(tone(300, 200, 8000)), silence(300)]);
    expect(voicedMs(mulawDecode(s), 8000)).toBe(200);
  });
});
