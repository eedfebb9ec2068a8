import { describe, expect, it } from "vitest";
import { nextJob } from "./decode-queue";

describe("decode queue order", () => {
  it("a check goes before finals queued ahead of it", () => {
    expect(
      nextJob([
        { prio: 1, samples: 100 },
        { prio: 1, samples: 10 },
        { prio: 0, samples: 5000 },
      ]),
    ).toBe(2);
  });

  it("among checks the shortest audio goes first: a murmur's before a sentence's", () => {
    expect(
      nextJob([
        { prio: 0, samples: 16000 },
        { prio: 0, samples: 4000 },
        { prio: 0, samples: 8000 },
      ]),
    ).toBe(1);
  });

  it("finals keep arrival order whatever their length (no starving a long one)", () => {
    expect(
      nextJob([
        { prio: 1, samples: 90000 },
        { prio: 1, samples: 100 },
      ]),
    ).toBe(0);
  });

  it("a rated check's sink decode (it finishes a check) goes before other checks, even shorter ones", () => {
    expect(
      nextJob([
        { prio: 0, samples: 100 },
        { prio: -0.5, samples: 9000 },
      ]),
    ).toBe(1);
  });
});
