import { describe, expect, it } from "vitest";
import { mulawEncode } from "@voicecall/audio";
import { LevelFloor, voicedRms } from "./level-floor";

/** A 400 Hz tone of RMS `level` (0..1), `ms` long, as mu-law. */
const tone = (level: number, ms: number) => {
  const pcm = new Int16Array(ms * 8);
  for (let i = 0; i < pcm.length; i++)
    pcm[i] = Math.round(Math.SQRT2 * level * 32767 * Math.sin((2 * Math.PI * 400 * i) / 8000));
  return mulawEncode(pcm);
};

describe("level floor (echo guard, background speech)", () => {
  it("measures the voiced frames' RMS, leaving silence out", () => {
    const mu = new Uint8Array(3200).fill(0xff);
    mu.set(tone(0.1, 200), 0);
    expect(voicedRms(mu)).toBeCloseTo(0.1, 2);
  });

  it("while an utterance plays the floor is its level minus the echo margin; none when nothing plays", () => {
    const f = new LevelFloor({ echoGuardDb: 9, callerFloorDb: 14 });
    f.agentAudio("u1", tone(0.1, 200));
    expect(f.floor("u1")).toBeCloseTo(0.1 * 10 ** (-9 / 20), 3);
    expect(f.floor(undefined)).toBe(0);
    // An echo 15 dB down is under it; a caller at the agent's level is well above.
    expect(0.1 * 10 ** (-15 / 20)).toBeLessThan(f.floor("u1"));
  });

  it("learns the caller's level from their turns; 0 dB turns a guard off", () => {
    const f = new LevelFloor({ echoGuardDb: 0, callerFloorDb: 14 });
    f.agentAudio("u1", tone(0.1, 200));
    expect(f.floor("u1")).toBe(0);
    f.callerTurn(0.1);
    expect(f.floor(undefined)).toBeCloseTo(0.1 * 10 ** (-14 / 20), 3);
    expect(0.1 * 10 ** (-20 / 20)).toBeLessThan(f.floor(undefined)); // background speech 20 dB down
  });

  it("the echo guard never shuts out a caller quieter than the agent", () => {
    const f = new LevelFloor({ echoGuardDb: 9, callerFloorDb: 14 });
    f.agentAudio("u1", tone(0.3, 200));
    f.callerTurn(0.05);
    expect(f.floor("u1")).toBeCloseTo(0.05 * 10 ** (-6 / 20), 3);
  });
});
