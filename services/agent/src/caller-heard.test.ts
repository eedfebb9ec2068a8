import { describe, expect, it } from "vitest";
import { heardPart } from "./caller-heard";

describe("heardPart", () => {
  const t = "We are open Monday to Friday from nine to six.";
  it("keeps whole words of the played share", () => {
    expect(heardPart(t, 0, 1000)).toBe("");
    expect(heardPart(t, 1000, 1000)).toBe(t);
    expect(heardPart(t, 500, 1000)).toBe("We are open Monday to");
    expect(heardPart(t, 130, 1000)).toBe("We");
  });
});
