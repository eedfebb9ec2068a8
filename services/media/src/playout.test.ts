import { describe, expect, it } from "vitest";
import { Playout, type Utterance } from "./playout";

/** A Twilio stand-in that only records: the test decides when marks come back. */
const setup = (chunkMs = 20, leadMs = 60) => {
  const clock = { t: 1000 };
  const sent: { event: string; media?: { payload: string }; mark?: { name: string } }[] = [];
  const done: Utterance[] = [];
  const p = new Playout({ streamSid: "MZ1", send: (t) => sent.push(JSON.parse(t)), chunkMs, leadMs, onDone: (u) => done.push(u), now: () => clock.t });
  const marks = () => sent.filter((m) => m.event === "mark").map((m) => m.mark!.name);
  const bytes = () => sent.filter((m) => m.event === "media").reduce((n, m) => n + Buffer.from(m.media!.payload, "base64").length, 0);
  return { p, sent, done, marks, bytes, clock };
};
const chunk = (id: string, seq: number, ms: number, last = false, generation = 1) =>
  [{ utteranceId: id, seq, last, generation, purpose: "reply" as const }, new Uint8Array(ms * 8).fill(seq + 1)] as const;

describe("playout", () => {
  it("sends only the lead ahead and one more piece per echoed mark", () => {
    const { p, marks, bytes } = setup();
    p.push(...chunk("a", 0, 200, true));
    expect(bytes()).toBe(60 * 8);
    expect(marks()).toEqual(["a:0", "a:1", "a:2"]);
    p.onMark("a:0");
    expect(bytes()).toBe(80 * 8);
  });

  it("plays utterances in order of first arrival and reports done on the last mark", () => {
    const { p, marks, done } = setup(20, 1000);
    p.push(...chunk("a", 0, 40));
    p.push(...chunk("b", 0, 20, true));
    p.push(...chunk("a", 1, 0, true)); // an empty last chunk ends "a"
    expect(marks()).toEqual(["a:0", "a:1", "a:2", "b:3"]);
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

  it("pause clears and rewinds to the last echoed mark; resume re-sends from there", () => {
    const { p, sent, marks } = setup(20, 60);
    p.push(...chunk("a", 0, 100, true));
    p.onMark("a:0");
    const cut = p.pause();
    expect(cut).toMatchObject({ playedMs: 20, totalMs: 100 });
    expect(sent.at(-1)).toEqual({ event: "clear", streamSid: "MZ1" });
    p.onMark("a:1"); // cleared echo: ignored
    expect(p.current()!.playedBytes).toBe(160);
    p.resume();
    expect(marks().slice(-3)).toEqual(["a:4", "a:5", "a:6"]);
  });

  it("pause adds the time since the last echo, at most one piece and never more than was sent", () => {
    const { p, clock } = setup(20, 60);
    p.push(...chunk("a", 0, 100, true));
    p.onMark("a:0");
    clock.t += 7;
    expect(p.pause()?.playedMs).toBe(27);
    p.resume();
    clock.t += 500;
    expect(p.pause()?.playedMs).toBe(47);
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
});
