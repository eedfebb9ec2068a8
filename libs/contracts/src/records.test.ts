import { describe, expect, it } from "vitest";
import { CallRecord, callRecordFromHash, callRecordHashFields } from "./records";
import { callStates } from "./common";

/** What zod gives (or that it throws), in a comparable form: keys in order, values with their types. */
function viaZod(h: Record<string, unknown>): string {
  const r = CallRecord.safeParse(h);
  return r.success ? JSON.stringify(Object.entries(r.data).map(([k, v]) => [k, typeof v, v])) : "throws";
}
function viaFast(h: Record<string, unknown>): string {
  try {
    return JSON.stringify(Object.entries(callRecordFromHash(h)).map(([k, v]) => [k, typeof v, v]));
  } catch {
    return "throws";
  }
}

// Values per field kind: valid ones, near misses, and strings Number() and zod treat in odd ways.
const numbers = [
  "0",
  "1",
  "1796163229289",
  "-3",
  "1.5",
  "1e3",
  " 12 ",
  "",
  "0x10",
  "Infinity",
  "-0",
  "abc",
  "12a",
  "NaN",
];
const bools = ["0", "1", "true", "false", "TRUE", "yes", "", " 1"];
const strings = ["", "x", "Hello there", "+14155550100", "client:alice", " ", '{"a":1}'];
const enumValues: Record<string, string[]> = {
  state: [...callStates, "In-progress", "", "done"],
  direction: ["inbound", "outbound", "sideways", ""],
  mode: ["conversation", "notify", "Notify"],
  channel: ["twilio", "web", "sip"],
  engine: ["pipeline", "realtime", "Realtime"],
  answeredBy: ["human", "machine_start", "machine_end_beep", "fax", "unknown", "robot"],
  machineDetection: ["Enable", "DetectMessageEnd", "enable"],
};
const required = ["callId", "state", "direction", "mode", "from", "to", "createdAt", "updatedAt"];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0), s / 2 ** 32);
}

describe("callRecordFromHash: CallRecord.parse of a Redis hash without zod", () => {
  it("knows every field of the schema, in its order", () => {
    expect(Object.keys(callRecordHashFields)).toEqual(Object.keys(CallRecord.shape));
  });

  it("gives what the schema gives (or throws where it throws) on 10,000 fuzzed hashes", () => {
    const rand = rng(20);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      const h: Record<string, unknown> = {};
      for (const [key, f] of Object.entries(callRecordHashFields)) {
        // Required fields are there most of the time, so that most hashes parse; the others half the time.
        if (rand() > (required.includes(key) ? 0.97 : 0.5)) continue;
        const valid = rand() < 0.85;
        if (f.k === "num") h[key] = valid ? pick(numbers.slice(0, 7)) : pick(numbers);
        else if (f.k === "bool") h[key] = valid ? pick(bools.slice(0, 4)) : pick(bools);
        else if (f.k === "enum") h[key] = valid ? pick([...f.of]) : pick(enumValues[key]!);
        else h[key] = pick(strings);
        // Now and then a value that is not a string (only zod decides those).
        if (rand() < 0.01) h[key] = pick([1, true, null, ["x"], { a: 1 }]);
      }
      if (rand() < 0.2) h.unknownField = "dropped";
      const expected = viaZod(h);
      expect(viaFast(h), JSON.stringify(h)).toBe(expected);
      if (expected !== "throws") accepted++;
    }
    // Both outcomes were exercised.
    expect(accepted).toBeGreaterThan(1_000);
    expect(accepted).toBeLessThan(9_500);
  });

  it("fills the defaults and drops unknown fields as the schema does", () => {
    const h = {
      callId: "c1",
      state: "ringing",
      direction: "outbound",
      mode: "conversation",
      from: "+14155550100",
      to: "+14155550101",
      createdAt: "5",
      updatedAt: "6",
      extra: "x",
    };
    const r = callRecordFromHash(h);
    expect(r).toEqual({
      callId: "c1",
      state: "ringing",
      direction: "outbound",
      mode: "conversation",
      channel: "twilio",
      engine: "pipeline",
      from: "+14155550100",
      to: "+14155550101",
      greetingPlayed: false,
      streamCount: 0,
      createdAt: 5,
      updatedAt: 6,
    });
    expect(() => callRecordFromHash({ ...h, createdAt: "soon" })).toThrow(/createdAt/);
  });
});
