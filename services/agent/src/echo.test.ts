import { describe, expect, it } from "vitest";
import { isEcho } from "./echo";

describe("isEcho", () => {
  it("recognises our own words, not the caller's", () => {
    expect(isEcho("open monday to friday", "We are open Monday to Friday from nine to six.")).toBe(true);
    expect(isEcho("book an appointment", "We are open Monday to Friday.")).toBe(false);
    expect(isEcho("yes", "Shall I book it for you?")).toBe(false);
  });
});
