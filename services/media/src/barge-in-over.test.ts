import { describe, expect, it } from "vitest";
import { BargeInPolicy, parseBackchannels, type BargeInConfig } from "./barge-in";

const cfg = (o: Partial<BargeInConfig> = {}): BargeInConfig => ({
  enabled: true,
  speaking: { minSpeechMs: 200, minWords: 0 },
  thinking: { minSpeechMs: 400, minWords: 0 },
  falseInterruptionMs: 600,
  backchannelMaxMs: 700,
  recognitionTimeoutMs: 5000,
  resumeGapMs: 200,
  minConfidence: 0.5,
  echoWords: 2,
  backchannels: parseBackchannels("uh-huh,mm-hmm,yeah,okay"),
  ...o,
});

/** A pause over agent speech: an utterance from 0 that reaches the minimum speech. */
const paused = (c = cfg()) => {
  const p = new BargeInPolicy(c);
  p.agentSaid("we are open monday to friday from nine in the morning");
  p.speechStarted(0);
  for (let t = 0; t <= 400; t += 20) if (p.tick(t, "speaking") === "pause") return p;
  throw new Error("no pause");
};

describe("barge-in over agent speech: words are not enough", () => {
  it("a final the recogniser is unsure of resumes the pause; the same words sure of themselves cut", () => {
    expect(paused().final("that works", "speaking", 0.2)).toBe("resume");
    expect(paused().final("that works", "speaking", 0.9)).toBe("confirm");
    // No confidence from the engine: words decide, as before.
    expect(paused().final("that works", "speaking")).toBe("confirm");
    // Off.
    expect(paused(cfg({ minConfidence: 0 })).final("that works", "speaking", 0.2)).toBe("confirm");
  });

  it("an early check answered with an unsure phrase resumes, and marks the utterance a non-turn", () => {
    const p = paused();
    p.earlyCheck = true;
    let d = null;
    for (let t = 420; t <= 700 && d !== "check"; t += 20) d = p.tick(t, "idle", 400);
    expect(d).toBe("check");
    expect(p.checked("no thanks", 400, 620, 0.1)).toBe("resume");
    expect(p.judgedNonTurn).toBe(true);
  });

  it("the agent's own words coming back are echo, not a turn; a single echoed word or new words still cut", () => {
    expect(paused().final("monday to friday", "speaking", 0.95)).toBe("resume");
    expect(paused().final("friday", "speaking", 0.95)).toBe("confirm");
    expect(paused().final("what are your opening hours", "speaking", 0.95)).toBe("confirm");
    expect(paused(cfg({ echoWords: 0 })).final("monday to friday", "speaking", 0.95)).toBe("confirm");
  });

  it("a final with no VAD utterance behind it (a streaming recogniser hearing background speech) does not cut", () => {
    const p = new BargeInPolicy(cfg());
    expect(p.final("i told him we would meet at the station", "speaking", 0.95)).toBeNull();
    // An utterance our VAD heard: the same final cuts.
    p.speechStarted(0);
    expect(p.final("i told him we would meet at the station", "speaking", 0.95)).toBe("confirm");
  });

  it("the quiet gap before an early check counts from the last loud frame, not the VAD's hangover after it", () => {
    const p = paused();
    p.earlyCheck = true;
    // Voiced (hangover) until 480, loud until 400: the 200 ms gap is up at 600, not 680.
    let at: number | undefined;
    for (let t = 420; t <= 800 && at === undefined; t += 20) if (p.tick(t, "idle", 480, 400) === "check") at = t;
    expect(at).toBe(600);
  });
});

describe("early check ahead of the quiet gap (a decode that can be held)", () => {
  /** Paused at 200; voiced to 400, then quiet. `checkGapMs` 100: the check is asked at 500, decided at 600. */
  const ahead = () => {
    const p = paused(cfg({ checkGapMs: 100 }));
    p.earlyCheck = true;
    p.checkAhead = true;
    let at: number | undefined;
    for (let t = 220; t <= 800 && at === undefined; t += 20)
      if (p.tick(t, "idle", Math.min(t, 400)) === "check") at = t;
    expect(at).toBe(500);
    return p;
  };

  it("asks for the decode after checkGapMs, holds its answer until resumeGapMs of quiet, then resumes", () => {
    const p = ahead();
    expect(p.checked("mm-hmm", 400, 520)).toBeNull(); // answered inside the gap: held
    expect(p.paused).toBe(true);
    for (let t = 540; t < 600; t += 20) expect(p.tick(t, "idle", 400)).toBeNull();
    expect(p.tick(600, "idle", 400)).toBe("resume");
    expect(p.resumedBy).toBe("check");
    expect(p.judgedNonTurn).toBe(true);
    expect(p.tick(620, "speaking", 400)).toBeNull();
  });

  it("an answer after the gap decides at once; words confirm at the gap, not before", () => {
    const late = ahead();
    for (let t = 520; t <= 640; t += 20) expect(late.tick(t, "idle", 400)).toBeNull();
    expect(late.checked("uh-huh", 400, 640)).toBe("resume");
    const words = ahead();
    expect(words.checked("what are your opening hours", 400, 520, 0.9)).toBeNull();
    expect(words.tick(580, "idle", 400)).toBeNull();
    expect(words.tick(600, "idle", 400)).toBe("confirm");
  });

  it("voice after the decoded audio drops the held answer: the next quiet is checked afresh", () => {
    const p = ahead();
    expect(p.checked("mm-hmm", 400, 520)).toBeNull();
    // The caller goes on at 540 (a word after a pause inside the sentence) until 700.
    for (let t = 540; t <= 700; t += 20) expect(p.tick(t, "idle", t)).toBeNull();
    let d = null;
    let t = 720;
    for (; t <= 1000 && d === null; t += 20) d = p.tick(t, "idle", 700);
    expect(d).toBe("check"); // at 800: 100 ms after the new last voice, the old answer never resumed it
    expect(p.paused).toBe(true);
    expect(p.checked("what are your opening hours", 700, t, 0.9)).toBeNull();
    expect(p.tick(900, "idle", 700)).toBe("confirm");
  });

  it("without a decode that can be held (a streaming engine's end), the check waits for the whole gap", () => {
    const p = paused(cfg({ checkGapMs: 100 }));
    p.earlyCheck = true;
    let at: number | undefined;
    for (let t = 220; t <= 800 && at === undefined; t += 20)
      if (p.tick(t, "idle", Math.min(t, 400)) === "check") at = t;
    expect(at).toBe(600);
  });

  it("says what resumed it: a final with no words, or the timer", () => {
    const f = paused();
    expect(f.final("", "speaking")).toBe("resume");
    expect(f.resumedBy).toBe("final");
    const t = paused();
    t.speechStopped(300, 300);
    let d = null;
    for (let ms = 320; ms <= 1000 && d === null; ms += 20) d = t.tick(ms, "speaking", 300);
    expect(d).toBe("resume");
    expect(t.resumedBy).toBe("timer");
  });
});

describe("barge-in over agent speech: open vocabulary decided by the fixed grammar's second opinion", () => {
  const c = cfg({ sentenceMs: 1400 });
  const checkedWith = (fixed: string, quietAt = 400) => {
    const p = paused(c);
    p.earlyCheck = true;
    let d = null;
    for (let t = quietAt + 20; t <= quietAt + 300 && d !== "check"; t += 20) d = p.tick(t, "idle", quietAt);
    expect(d).toBe("check");
    // The n-gram text is a peek's own (the fixed grammar's); the rule reads `fixed`.
    return p.checked(fixed, quietAt, quietAt + 200, undefined, { text: fixed });
  };

  it("an early check the fixed grammar hears as a murmur resumes; an interruption cuts", () => {
    expect(checkedWith("uh huh")).toBe("resume");
    expect(checkedWith("mhm")).toBe("resume");
    expect(checkedWith("stop")).toBe("confirm");
    expect(checkedWith("hold on")).toBe("confirm");
    expect(checkedWith("no")).toBe("confirm");
  });

  it("a long utterance forced onto the sink is a sentence: it cuts", () => {
    const p = new BargeInPolicy(c);
    p.earlyCheck = true;
    p.speechStarted(0);
    let d = null;
    for (let t = 0; t <= 2000 && d !== "pause"; t += 20) d = p.tick(t, "speaking");
    expect(d).toBe("pause");
    for (let t = 2000; t <= 2300 && d !== "check"; t += 20) d = p.tick(t, "idle", 1980);
    expect(d).toBe("check");
    expect(p.checked("uh", 1980, 2200, undefined, { text: "uh" })).toBe("confirm");
  });

  it("a final whose n-gram words are a sentence but the fixed grammar heard a murmur is no turn over the agent", () => {
    // "uh huh" decoded by the n-gram as "the hood": before, real words over the agent, a cut.
    expect(paused(c).final("the hood", "speaking", undefined, { text: "uh huh" }, 360)).toBe("resume");
    expect(paused(c).final("the hood", "speaking")).toBe("confirm");
    // An interruption the backchannel list would not count ("no" heard as itself, or "we have" for "stop").
    expect(paused(c).final("we have", "speaking", undefined, { text: "stop" }, 240)).toBe("confirm");
    // Said while the agent talks, before any pause: the same rule.
    const p = new BargeInPolicy(c);
    p.speechStarted(0);
    expect(p.final("you have", "speaking", undefined, { text: "yep" }, 420)).toBeNull();
    p.speechStarted(1000);
    expect(p.final("hold on", "speaking", undefined, { text: "hold on" }, 620)).toBe("confirm");
  });
});

describe("barge-in over agent speech: an interruption the second opinion heard stays heard", () => {
  it("a check that heard 'stop' before its release burst cuts, though the re-check of the whole word hears 'huh'", () => {
    const p = paused(cfg({ sentenceMs: 1400 }));
    p.earlyCheck = true;
    let d = null;
    for (let t = 420; t <= 700 && d !== "check"; t += 20) d = p.tick(t, "idle", 400);
    expect(d).toBe("check");
    expect(p.checked("stop", 400, 520, undefined, { text: "stop" })).toBeNull(); // held: the gap is not up
    // The release burst: voice again, the held answer is dropped; the next quiet is checked afresh.
    expect(p.tick(540, "idle", 540)).toBeNull();
    d = null;
    for (let t = 560; t <= 900 && d !== "check"; t += 20) d = p.tick(t, "idle", 540);
    expect(d).toBe("check");
    expect(p.checked("huh", 540, 760, undefined, { text: "huh" })).toBe("confirm");
  });

  it("the utterance's final is a turn too, and the next utterance is judged afresh", () => {
    const p = paused(cfg({ sentenceMs: 1400 }));
    p.earlyCheck = true;
    for (let t = 420, d = null; t <= 700 && d !== "check"; t += 20) d = p.tick(t, "idle", 400);
    p.checked("wait", 400, 520, undefined, { text: "wait" });
    p.tick(540, "idle", 540); // voice again: the held answer is dropped
    expect(p.interruptionHeard).toBe(true);
    expect(p.final("what", "idle", undefined, { text: "huh" }, 300)).toBe("confirm");
    p.speechStarted(2000);
    expect(p.interruptionHeard).toBe(false);
    expect(p.final("the hood", "speaking", undefined, { text: "uh huh" }, 360)).toBeNull();
  });
});
