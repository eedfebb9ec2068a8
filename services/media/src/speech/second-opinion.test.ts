import { describe, expect, it } from "vitest";
import { secondOpinion, secondOpinionGrammar } from "./second-opinion";

describe("second opinion: the fixed grammar's hearing → turn or not", () => {
  it("an interruption phrase is a turn however short", () => {
    for (const t of ["stop", "wait", "hold on", "hang on", "excuse me", "sorry", "no"])
      expect(secondOpinion(t, 200, 1400)).toBe("interruption");
  });

  it("backchannels and sink sounds shorter than a sentence are not; alternative pronunciations count as the word", () => {
    for (const t of ["uh huh", "mhm", "uh", "mm", "yep", "yeah", "right", "okay", "sure", "yes(2)"])
      expect(secondOpinion(t, 1080, 1400)).toBe("backchannel");
  });

  it("speech as long as a sentence forced onto the sink is a sentence; no words at all never is", () => {
    expect(secondOpinion("uh", 1400, 1400)).toBe("sentence");
    expect(secondOpinion("uh", 1399, 1400)).toBe("backchannel");
    expect(secondOpinion("", 5000, 1400)).toBe("backchannel");
  });

  it("a word the grammar has that is neither (another grammar's) is a sentence", () => {
    expect(secondOpinion("what", 300, 1400)).toBe("sentence");
  });

  it("the grammar offers exactly those classes, one phrase per utterance", () => {
    const g = secondOpinionGrammar();
    expect(g).toMatch(/^public <heard> = <backchannel> \| <interruption>;$/m);
    expect(g).toContain("( hold on )");
    expect(g).toContain("( uh huh )");
    expect(g).not.toContain("one moment");
  });
});
