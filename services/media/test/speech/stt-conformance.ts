/**
 * Conformance suite every `SpeechToText` provider passes (run from each provider's test file).
 * It speaks flite `rms` phrases as Twilio-style 8 kHz mu-law, pushes every frame (`pushFrame`) and
 * ends each turn with the utterance PCM (`endUtterance`), as the pipeline does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FRAME_BYTES, mulawDecode } from "@voicecall/audio";
import { callerTurn } from "./synth-speech";
import { phraseGrammar } from "./test-phrases";
import type { SpeechToText, SttResult, SttStream } from "../../src/speech/types";

export const CONFORMANCE_PHRASES = ["what are your opening hours", "yes please", "i want to book an appointment"];

export interface SttUnderTest {
  stt: SpeechToText;
  close(): Promise<void>;
}

/** Collect results until the iterable ends. */
export async function collect(results: AsyncIterable<SttResult>): Promise<SttResult[]> {
  const out: SttResult[] = [];
  for await (const r of results) out.push(r);
  return out;
}

export function sttConformance(name: string, make: () => Promise<SttUnderTest>): void {
  describe(`SpeechToText conformance: ${name}`, () => {
    let sut: SttUnderTest;
    const turns: Uint8Array[] = [];
    const grammar = phraseGrammar(CONFORMANCE_PHRASES);
    beforeAll(async () => {
      sut = await make();
      for (const p of CONFORMANCE_PHRASES) turns.push(await callerTurn("flite:rms", p, 300, 300));
    });
    afterAll(() => sut?.close());

    const speak = (s: SttStream, mu: Uint8Array) => {
      for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) s.pushFrame(mu.subarray(i, i + FRAME_BYTES));
      s.endUtterance(mulawDecode(mu));
    };

    it("has a label and capabilities", () => {
      expect(sut.stt.label).toMatch(/\w/);
      expect(typeof sut.stt.capabilities.partials).toBe("boolean");
      expect(typeof sut.stt.capabilities.streaming).toBe("boolean");
    });

    it("transcribes turns in order, then ends results on close()", async () => {
      const s = sut.stt.open({ callId: "conf-1", signal: new AbortController().signal, grammar });
      const done = collect(s.results);
      for (const t of turns) speak(s, t);
      s.close();
      const finals = (await done).filter((r) => r.final).map((r) => r.text.toLowerCase().replace(/[^a-z' ]/g, ""));
      expect(finals).toEqual(CONFORMANCE_PHRASES);
    });

    it("partials, when offered, are not final and precede their final", async () => {
      const s = sut.stt.open({ callId: "conf-2", signal: new AbortController().signal, grammar });
      const done = collect(s.results);
      speak(s, turns[2]!);
      s.close();
      const rs = await done;
      expect(rs.at(-1)?.final).toBe(true);
      if (!sut.stt.capabilities.partials) expect(rs.every((r) => r.final)).toBe(true);
      else expect(rs.some((r) => !r.final)).toBe(true);
    });

    it("streams are independent", async () => {
      const a = sut.stt.open({ callId: "conf-a", signal: new AbortController().signal, grammar });
      const b = sut.stt.open({ callId: "conf-b", signal: new AbortController().signal, grammar });
      const ra = collect(a.results);
      const rb = collect(b.results);
      speak(a, turns[0]!);
      speak(b, turns[1]!);
      a.close();
      b.close();
      expect((await ra).filter((r) => r.final).map((r) => r.text.toLowerCase())).toEqual([CONFORMANCE_PHRASES[0]]);
      expect((await rb).filter((r) => r.final).map((r) => r.text.toLowerCase().replace(/[^a-z ]/g, ""))).toEqual([
        CONFORMANCE_PHRASES[1],
      ]);
    });

    it("abort ends results without a final", async () => {
      const ac = new AbortController();
      const s = sut.stt.open({ callId: "conf-3", signal: ac.signal, grammar });
      const done = collect(s.results);
      ac.abort();
      speak(s, turns[1]!);
      expect((await done).filter((r) => r.final)).toEqual([]);
    });

    it("close() without audio ends results with nothing", async () => {
      const s = sut.stt.open({ callId: "conf-4", signal: new AbortController().signal });
      const done = collect(s.results);
      s.close();
      expect(await done).toEqual([]);
    });
  });
}
