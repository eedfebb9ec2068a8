import { describe, expect, it } from "vitest";
import { nextJob } from "./decode-queue";

describe("decode queue order", () => {
  it("a check goes before finals queued ahead of it", () => {
    expect(nextJob([{ prio: 1 }, { prio: 1 }, { prio: 0 }])).toBe(2);
  });

  it("checks keep arrival order: the one asked first is due first", () => {
    expect(nextJob([{ prio: 1 }, { prio: 0 }, { prio: 0 }, { prio: 0 }])).toBe(1);
  });

  it("finals keep arrival order (no starving a long one)", () => {
    expect(nextJob([{ prio: 1 }, { prio: 1 }])).toBe(0);
  });

  it("a rated check's sink decode (it finishes a check) goes before other checks", () => {
    expect(nextJob([{ prio: 0 }, { prio: -0.5 }])).toBe(1);
  });
});
