import { describe, expect, it } from "vitest";
import { BargeInPolicy, parseBackchannels, realWords, words, type BargeInConfig } from "./barge-in";

const cfg = (o: Partial<BargeInConfig> = {}): BargeInConfig => ({
  enabled: true,
  speaking: { minSpeechMs: 200, minWords: 0 },
  thinking: { minSpeechMs: 400, minWords: 0 },
  falseInterruptionMs: 600,
  backchannelMaxMs: 700,
  recognitionTimeoutMs: 5000,
  resumeGapMs: 250,
  backchannels: parseBackchannels("uh-huh,mm-hmm,yeah,okay"),
  ...o,
});

/** Feed frames of the stream clock until a decision (or `untilMs`). */
const run = (p: BargeInPolicy, fromMs: number, untilMs: number, agent: "speaking" | "thinking" | "idle") => {
  for (let t = fromMs; t <= untilMs; t += 20) {
    const d = p.tick(t, agent);
    if (d) return { d, t };
  }
  return undefined;
};

describe("barge-in policy", () => {
  it("pauses after the minimum speech while the agent speaks, later while it thinks, never when idle", () => {
    for (const [agent, at] of [
      ["speaking", 1200],
      ["thinking", 1400],
    ] as const) {
      const p = new BargeInPolicy(cfg());
      p.speechStarted(1000);
      expect(run(p, 1000, 2000, agent)).toEqual({ d: "pause", t: at });
    }
    const idle = new BargeInPolicy(cfg());
    idle.speechStarted(1000);
    expect(run(idle, 1000, 5000, "idle")).toBeUndefined();
  });

  it("with minWords, waits for partial words; backchannel partials never pause", () => {
    const p = new BargeInPolicy(cfg({ speaking: { minSpeechMs: 200, minWords: 2 } }));
    p.speechStarted(0);
    expect(run(p, 0, 1000, "speaking")).toBeUndefined();
    p.partial("uh-huh yeah");
    expect(run(p, 1000, 1500, "speaking")).toBeUndefined();
    p.partial("wait a");
    expect(run(p, 1500, 1600, "speaking")?.d).toBe("pause");

    const b = new BargeInPolicy(cfg());
    b.speechStarted(0);
    b.partial("mm-hmm");
    expect(run(b, 0, 1000, "speaking")).toBeUndefined();
  });

  it("a real final confirms; an empty or backchannel final resumes; silence past the window resumes", () => {
    const mk = () => {
      const p = new BargeInPolicy(cfg());
      p.speechStarted(0);
      expect(run(p, 0, 400, "speaking")?.d).toBe("pause");
      return p;
    };
    expect(mk().final("stop please", "idle")).toBe("confirm");
    expect(mk().final("", "idle")).toBe("resume");
    expect(mk().final("Okay.", "idle")).toBe("resume");
    const p = mk();
    p.speechStopped(400, 400);
    expect(run(p, 400, 2000, "idle")).toEqual({ d: "resume", t: 800 });
  });

  it("never resumes while a sentence longer than a backchannel is still being recognised", () => {
    // The caller talks for 1.9 s over the reply; recognition takes 2 s more than the pause window.
    const p = new BargeInPolicy(cfg());
    p.speechStarted(0);
    expect(run(p, 0, 400, "speaking")).toEqual({ d: "pause", t: 200 });
    expect(run(p, 220, 2500, "idle")).toBeUndefined(); // still talking, then the endpoint silence
    p.speechStopped(2500, 1900);
    expect(p.awaitingTranscript).toBe(true);
    expect(run(p, 2520, 4500, "idle")).toBeUndefined();
    expect(p.final("i would like to book an appointment", "idle")).toBe("confirm");
    // …and its "no words" answer (a long noise) resumes at once.
    const n = new BargeInPolicy(cfg());
    n.speechStarted(0);
    run(n, 0, 400, "speaking");
    n.speechStopped(1500, 1200);
    expect(run(n, 1520, 4000, "idle")).toBeUndefined();
    expect(n.final("", "idle")).toBe("resume");
  });

  it("a sentence the recogniser never answers is a turn: the cut reply is dropped, not replayed", () => {
    const p = new BargeInPolicy(cfg());
    p.speechStarted(0);
    run(p, 0, 400, "speaking");
    p.speechStopped(2000, 1800);
    expect(run(p, 2020, 10_000, "idle")).toEqual({ d: "confirm", t: 7000 });
    expect(p.paused).toBe(false);
  });

  it("keeps the pause while the caller is still talking", () => {
    const p = new BargeInPolicy(cfg());
    p.speechStarted(0);
    run(p, 0, 200, "speaking");
    expect(run(p, 220, 3000, "idle")).toBeUndefined();
    expect(p.paused).toBe(true);
  });

  it("a short real sentence that ends before the threshold still interrupts a speaking agent", () => {
    const p = new BargeInPolicy(cfg({ speaking: { minSpeechMs: 5000, minWords: 0 } }));
    p.speechStarted(0);
    expect(run(p, 0, 1000, "speaking")).toBeUndefined();
    expect(p.final("no thanks", "speaking")).toBe("confirm");
    expect(p.final("yeah", "speaking")).toBeNull();
  });

  it("counts voiced speech, not time since the onset: a 120 ms knock followed by silence never pauses", () => {
    const p = new BargeInPolicy(cfg());
    p.speechStarted(0);
    for (let t = 20; t <= 1000; t += 20) expect(p.tick(t, "speaking", Math.min(t, 120))).toBeNull();
    // Continuous voice pauses exactly when it did before: 200 ms after the onset.
    const v = new BargeInPolicy(cfg());
    v.speechStarted(0);
    let at = 0;
    for (let t = 20; !at && t <= 1000; t += 20) if (v.tick(t, "speaking", t) === "pause") at = t;
    expect(at).toBe(200);
  });

  it("early check: quiet after a paused-over noise asks for a decode; no words resumes, words confirm, a stale answer is ignored", () => {
    const mk = () => {
      const p = new BargeInPolicy(cfg());
      p.earlyCheck = true;
      p.speechStarted(0);
      let t = 20;
      for (; t <= 400; t += 20) if (p.tick(t, "speaking", t) === "pause") break;
      expect(t).toBe(200);
      for (t += 20; t <= 400; t += 20) expect(p.tick(t, "idle", t)).toBeNull(); // still voiced up to 400
      for (; t < 650; t += 20) expect(p.tick(t, "idle", 400)).toBeNull();
      expect(p.tick(660, "idle", 400)).toBe("check");
      expect(p.tick(680, "idle", 400)).toBeNull(); // one check per quiet gap
      return p;
    };
    const a = mk();
    expect(a.checked("mm-hmm", 400, 700)).toBe("resume");
    expect(a.paused).toBe(false);
    expect(a.judgedNonTurn).toBe(true);
    // The same utterance goes on (the endpointer still in speech): no pause again until new voice…
    for (let t = 720; t <= 1000; t += 20) expect(a.tick(t, "speaking", 400)).toBeNull();
    // …and then only after the minimum speech of it.
    let again = 0;
    for (let t = 1020; !again && t <= 1600; t += 20) if (a.tick(t, "speaking", t) === "pause") again = t;
    expect(again).toBe(1200);
    expect(a.judgedNonTurn).toBe(false); // new voice: judged afresh
    // With no voice after the check, the utterance's final is no turn even if it decodes to words.
    const b = mk();
    b.checked("mm-hmm", 400, 700);
    expect(b.final("that works", "speaking")).toBeNull();
    expect(mk().checked("no thanks", 400, 700)).toBe("confirm");
    const c = mk();
    c.tick(700, "idle", 700); // the caller spoke again before the answer came
    expect(c.checked("", 400, 720)).toBeNull();
    expect(c.paused).toBe(true);
    // A slow answer still counts after the utterance ended, if no voice came since; its final is then no turn.
    const d = mk();
    d.speechStopped(1000, 400);
    expect(d.checked("", 400, 1100)).toBe("resume");
    expect(d.final("that works", "speaking")).toBeNull();
  });

  it("disabled: never pauses", () => {
    const p = new BargeInPolicy(cfg({ enabled: false }));
    p.speechStarted(0);
    expect(run(p, 0, 3000, "speaking")).toBeUndefined();
  });

  it("counts words without punctuation or backchannels", () => {
    expect(words("Uh-huh, OK... sure!")).toEqual(["uh-huh", "ok", "sure"]);
    expect(realWords("Uh-huh, yeah. Hold on", parseBackchannels("uh-huh,yeah"))).toBe(2);
  });
});
