import { describe, expect, it } from "vitest";
import { isBackchannel } from "./backchannel";
import { jsgfGrammar } from "./grammar";
import { loadScript } from "./script";

describe("backchannels", () => {
  it("are murmurs only, never answers", () => {
    for (const t of ["uh huh", "mm hmm", "uh", "Hmm.", "mhm"]) expect(isBackchannel(t)).toBe(true);
    for (const t of ["no", "yes please", "uh no", "", "okay"]) expect(isBackchannel(t)).toBe(false);
  });
  it("give the grammar a sink besides the script's phrases", () => {
    const g = jsgfGrammar(loadScript());
    expect(g).toMatch(/^<backchannel> = \( uh huh \) \|/m);
    expect(g).toMatch(/^public <utterance> = .*\| <backchannel> \| <acknowledgement> \| <interruption>;$/m);
    // "stop" is heard as itself (a cut), not as the murmur "uh".
    expect(g).toMatch(/^<interruption> = \( stop \) \|/m);
    // "right" said over the agent is heard as itself, not as the nearest script phrase ("bye").
    expect(g).toMatch(/^<acknowledgement> = \( right \) \| \( alright \);$/m);
  });
});
