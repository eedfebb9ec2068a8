import { describe, expect, it } from "vitest";
import { GAP_WAIT_MS, Playout, type UtteranceAudio } from "./playout";
import { VirtualClock, VirtualTwilio } from "../test/virtual-line";

/** A Twilio stand-in that only records: the test decides when marks come back. */
const setup = (chunkMs = 20, leadMs = 60, markMs = 20) => {
  const clock = new VirtualClock();
  const sent: { event: string; media?: { payload: string }; mark?: { name: string } }[] = [];
  const done: UtteranceAudio[] = [];
  const p = new Playout({
    streamSid: "MZ1",
    send: (t) => sent.push(JSON.parse(t)),
    chunkMs,
    leadMs,
    markMs,
    onDone: (u) => done.push(u),
    now: clock.now,
    schedule: clock.schedule,
  });
  const marks = () => sent.filter((m) => m.event === "mark").map((m) => m.mark!.name);
  const bytes = () =>
    sent.filter((m) => m.event === "media").reduce((n, m) => n + Buffer.from(m.media!.payload, "base64").length, 0);
  return { p, sent, done, marks, bytes, clock };
};
const chunk = (id: string, seq: number, ms: number, last = false, generation = 1) =>
  [
    { utteranceId: id, seq, last, generation, purpose: "reply" as const },
    new Uint8Array(ms * 8).fill(seq + 1),
  ] as const;

/** The playout over a virtual network to a virtual Twilio player. */
const line = (rttMs: number, jitterMs: number, o: { leadMs?: number; seed?: number } = {}) => {
  const clock = new VirtualClock();
  const tw = new VirtualTwilio(clock, { oneWayMs: rttMs / 2, jitterMs, seed: o.seed });
  const done: string[] = [];
  const p = new Playout({
    streamSid: "MZ1",
    send: tw.send,
    chunkMs: 20,
    leadMs: o.leadMs ?? 400,
    markMs: 100,
    onDone: (u) => done.push(u.id),
    now: clock.now,
    schedule: clock.schedule,
  });
  tw.onEcho = (name) => p.onMark(name);
  return { clock, tw, p, done };
};

describe("playout: wall-clock pacing", () => {
  it("sends the lead at once, then keeps it topped up by the clock with no echo at all", () => {
    const { p, bytes, clock } = setup(20, 60);
    p.push(...chunk("a", 0, 1000, true));
    expect(bytes()).toBe(60 * 8);
    clock.advance(100);
    expect(bytes()).toBe(160 * 8);
    clock.advance(2000);
    expect(bytes()).toBe(1000 * 8);
  });

  it("marks each utterance's start, every markMs, and its end, and reports done on the last echo", () => {
    const { p, marks, done, clock } = setup(20, 1000, 40);
    p.push(...chunk("a", 0, 100));
    p.push(...chunk("b", 0, 20, true));
    p.push(...chunk("a", 1, 0, true)); // an empty last chunk ends "a"
    clock.advance(10);
    expect(marks()).toEqual(["a:0", "a:1", "a:2", "a:3", "b:4", "b:5"]);
    for (const m of marks()) p.onMark(m);
    expect(done.map((u) => u.id)).toEqual(["a", "b"]);
  });

  it("reorders early chunks by seq", () => {
    const { p, sent } = setup(20, 1000);
    p.push(...chunk("a", 0, 20));
    p.push(...chunk("a", 2, 20, true));
    p.push(...chunk("a", 1, 20));
    const firstBytes = sent.filter((m) => m.event === "media").map((m) => Buffer.from(m.media!.payload, "base64")[0]);
    expect(firstBytes).toEqual([1, 2, 3]);
  });

  it("a chunk still missing after GAP_WAIT_MS was lost: what came after it plays, the loss is reported", () => {
    const lost: [string, number][] = [];
    const clock = new VirtualClock();
    const sent: { event: string; media?: { payload: string } }[] = [];
    const p = new Playout({
      streamSid: "MZ1",
      send: (t) => sent.push(JSON.parse(t)),
      chunkMs: 20,
      leadMs: 1000,
      markMs: 20,
      onDone: () => undefined,
      onLost: (u, n) => lost.push([u.id, n]),
      now: clock.now,
      schedule: clock.schedule,
    });
    const first = () => sent.filter((m) => m.event === "media").map((m) => Buffer.from(m.media!.payload, "base64")[0]);
    p.pushSpoken(...chunk("a", 0, 20));
    p.pushSpoken(...chunk("a", 3, 20));
    p.pushSpoken(...chunk("a", 4, 20, true));
    clock.advance(GAP_WAIT_MS - 10);
    expect(first()).toEqual([1]);
    clock.advance(20);
    expect(first()).toEqual([1, 4, 5]);
    expect(lost).toEqual([["a", 2]]);
  });

  it("tts's next utterance arriving ends the one before it (its tail was lost); push() from elsewhere does not", () => {
    const lost: [string, number][] = [];
    const done: string[] = [];
    const clock = new VirtualClock();
    const sent: { event: string; mark?: { name: string } }[] = [];
    const p = new Playout({
      streamSid: "MZ1",
      send: (t) => sent.push(JSON.parse(t)),
      chunkMs: 20,
      leadMs: 1000,
      markMs: 1000,
      onDone: (u) => done.push(u.id),
      onLost: (u, n) => lost.push([u.id, n]),
      now: clock.now,
      schedule: clock.schedule,
    });
    p.pushSpoken(...chunk("r1-0", 0, 40));
    p.push(...chunk("other", 0, 20));
    p.pushSpoken(...chunk("r1-1", 0, 40, true));
    expect(p.utterances().map((u) => [u.id, u.complete])).toEqual([
      ["r1-0", true],
      ["other", false],
      ["r1-1", true],
    ]);
    expect(lost).toEqual([["r1-0", 1]]);
    for (const m of sent.filter((x) => x.event === "mark")) p.onMark(m.mark!.name);
    expect(done).toEqual(["r1-0"]);
  });

  it("cancel drops older generations, clears audible audio, and ignores their late chunks", () => {
    const { p, sent } = setup(20, 60);
    p.push(...chunk("old", 0, 100, false, 1));
    p.push(...chunk("new", 0, 20, true, 2));
    expect(p.cancel(2).map((u) => u.id)).toEqual(["old"]);
    expect(sent.some((m) => m.event === "clear")).toBe(true);
    p.push(...chunk("old", 1, 100, true, 1));
    expect(p.utterances().map((u) => u.id)).toEqual(["new"]);
  });

  it("stops sending when paused or closed", () => {
    const { p, bytes, clock } = setup(20, 60);
    p.push(...chunk("a", 0, 1000, true));
    p.pause();
    const at = bytes();
    clock.advance(500);
    expect(bytes()).toBe(at);
    p.resume();
    p.close();
    const after = bytes();
    clock.advance(500);
    expect(bytes()).toBe(after);
  });

  for (const rtt of [0, 150, 300]) {
    it(`RTT ${rtt} ms ±30 ms jitter: 5 s of speech plays with no gap, in 5 s`, () => {
      const { clock, tw, p, done } = line(rtt, 30, { seed: rtt + 7 });
      // tts delivers faster than real time, in 200 ms chunks, as the local engine does.
      for (let i = 0; i < 25; i++) p.push(...chunk("a", i, 200, i === 24));
      clock.advance(8000);
      expect(done).toEqual(["a"]);
      expect(tw.gaps()).toEqual([]);
      const first = tw.segments[0]!.start;
      const last = tw.segments.at(-1)!;
      expect(last.start + last.bytes / 8 - first).toBeCloseTo(5000, 0);
    });

    it(`RTT ${rtt} ms ±30 ms jitter: a barge-in reports within 100 ms what the caller heard, and resumes from there`, () => {
      for (const cutAt of [700, 1930, 3410]) {
        const { clock, tw, p, done } = line(rtt, 30, { seed: cutAt });
        p.push(...chunk("a", 0, 5000, true));
        clock.advance(cutAt);
        const cut = p.pause()!;
        clock.advance(rtt + 100);
        expect(tw.clears.length).toBe(1);
        const heardMs = tw.clears[0]! / 8;
        expect(Math.abs(cut.playedMs - heardMs)).toBeLessThanOrEqual(rtt === 0 ? 40 : 100);
        expect(cut.errMs).toBeLessThanOrEqual(100);
        expect(p.rttMs).toBeGreaterThanOrEqual(rtt - 60);
        expect(p.rttMs).toBeLessThanOrEqual(rtt + 60);
        p.resume();
        clock.advance(6000);
        expect(done).toEqual(["a"]);
        // Nothing lost: what was not heard before the clear is heard after it (the estimate's error repeats or skips).
        expect(Math.abs(tw.heardAt(clock.t) / 8 - (5000 - cut.playedMs + heardMs))).toBeLessThanOrEqual(1);
      }
    });
  }

  it("at 300 ms RTT the old lead of 160 ms is still gapless: only jitter, not the round trip, needs covering", () => {
    const { clock, tw, p } = line(300, 30, { leadMs: 160 });
    for (let i = 0; i < 25; i++) p.push(...chunk("a", i, 200, i === 24));
    clock.advance(8000);
    expect(tw.gaps()).toEqual([]);
  });

  it("a reply that arrives after the buffer ran out starts a new run: the estimate follows it", () => {
    const { clock, tw, p, done } = line(200, 0);
    p.push(...chunk("a", 0, 300, true));
    clock.advance(1500);
    p.push(...chunk("b", 0, 2000, true));
    clock.advance(900);
    const cut = p.pause()!;
    clock.advance(400);
    expect(done).toEqual(["a"]);
    expect(cut.u.id).toBe("b");
    const heardOfB = tw.clears[0]! / 8 - 300;
    expect(Math.abs(cut.playedMs - heardOfB)).toBeLessThanOrEqual(20);
  });
});
