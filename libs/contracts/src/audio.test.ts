import { describe, expect, it } from "vitest";
import { AudioChunkHeaders, audioHeaderRecord, parseAudioHeaders } from "./audio";

/** What zod alone makes of the headers (the path before the hand check), with the text decoded. */
const byZod = (r: Record<string, string | undefined>) => {
  const h = AudioChunkHeaders.parse(r);
  return h.text === undefined ? h : { ...h, text: decodeURIComponent(h.text) };
};

describe("audio chunk headers", () => {
  const chunk = {
    callId: "c1",
    utteranceId: "u1",
    seq: 12,
    last: true,
    generation: 0,
    purpose: "reply" as const,
    text: "Hello, world\nbye",
  };
  const written = audioHeaderRecord(chunk);

  it("reads what audioHeaderRecord writes as zod does, text decoded", () => {
    const without = { ...written };
    delete without.text;
    for (const r of [written, without, { ...written, last: "0", seq: "0", generation: "999999999999999" }]) {
      expect(parseAudioHeaders(r)).toStrictEqual(byZod(r));
    }
    expect(parseAudioHeaders(written)).toStrictEqual(chunk);
  });

  it("leaves anything else to zod: the same value or the same refusal", () => {
    const odd = [
      { ...written, seq: "01" },
      { ...written, seq: " 3" },
      { ...written, generation: "1e3" },
      { ...written, extra: "x" },
    ];
    for (const r of odd) expect(parseAudioHeaders(r)).toStrictEqual(byZod(r));
    const bad = [
      { ...written, seq: "-1" },
      { ...written, seq: "1.5" },
      { ...written, last: "true" },
      { ...written, purpose: "shout" },
      { ...written, callId: undefined },
    ];
    for (const r of bad) {
      expect(() => byZod(r)).toThrow();
      expect(() => parseAudioHeaders(r)).toThrow();
    }
  });
});
