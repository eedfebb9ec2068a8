import { describe, expect, it } from "vitest";
import { mulawDecode } from "@voicecall/audio";
import { detectDigit, dtmfTones } from "./dtmf-tones";

describe("dtmf tones", () => {
  it("every digit survives mu-law and is detected; w waits", () => {
    const digits = "0123456789*#ABCD";
    const pcm = mulawDecode(dtmfTones(digits));
    expect(pcm.length).toBe(digits.length * 1600);
    expect([...digits].map((_, i) => detectDigit(pcm.subarray(i * 1600, i * 1600 + 800))).join("")).toBe(digits);
    expect(detectDigit(pcm.subarray(900, 1600))).toBeUndefined();
    expect(dtmfTones("1w2").length).toBe(1600 + 4000 + 1600);
  });
});
