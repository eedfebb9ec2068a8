import { describe, expect, it } from "vitest";
import { concat, mulawDecode, rms, voicedMs } from "@voicecall/audio";
import { LocalTts, sentences } from "./local";

const TEXT = "Hello, this is a test of the voice call system. Thank you for listening.";

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("local provider (real flite and espeak-ng)", () => {
  for (const engine of ["flite", "espeak-ng"] as const) {
    it(`${engine}: 8 kHz mu-law that decodes to speech of plausible length and energy`, async () => {
      const tts = new LocalTts({ engine });
      const chunks = await collect(tts.synthesize(TEXT, { signal: new AbortController().signal }));
      expect(chunks.length).toBe(2); // one per sentence: the first is out before the second renders
      const pcm = mulawDecode(concat(chunks));
      const ms = pcm.length / 8;
      // 13 words at a speaking rate of 2–5 words/s.
      expect(ms).toBeGreaterThan(2500);
      expect(ms).toBeLessThan(7000);
      expect(voicedMs(pcm, 8000)).toBeGreaterThan(ms * 0.4);
      expect(rms(pcm)).toBeGreaterThan(0.02);
    });
  }

  it("an aborted synthesis throws AbortError and yields nothing more", async () => {
    const tts = new LocalTts({ engine: "flite" });
    const ctl = new AbortController();
    const got: Uint8Array[] = [];
    const run = (async () => {
      for await (const c of tts.synthesize(TEXT, { signal: ctl.signal })) {
        got.push(c);
        ctl.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    expect(got.length).toBe(1);
  });

  it("an unknown espeak-ng voice is a clear engine error", async () => {
    const tts = new LocalTts({ engine: "espeak-ng", voice: "nosuchvoice" });
    await expect(collect(tts.synthesize("hello", { signal: new AbortController().signal }))).rejects.toMatchObject({
      name: "ProviderError",
    });
  });

  it("splits sentences, merging tiny fragments", () => {
    expect(sentences("Hi. How are you today? I am fine!")).toEqual(["Hi. How are you today?", "I am fine!"]);
    expect(sentences("no punctuation at all")).toEqual(["no punctuation at all"]);
    expect(sentences("Wait... what?")).toEqual(["Wait... what?"]);
  });
});
