import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AfterHeard } from "./after-heard";
import { CallerSilence } from "./caller-silence";
import type { OutResponse } from "./output";

const resp = (id: string, tag?: string): OutResponse => ({ id, tag, generation: 1, items: [], done: true });

describe("realtime AfterHeard", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("runs the action when the response it waits on is heard, once; other responses leave it waiting", () => {
    const a = new AfterHeard(10_000);
    const run = vi.fn();
    a.hold({ responseId: "resp_2" }, run);
    expect(a.responseHeard(resp("resp_1"))).toBe(false);
    expect(run).not.toHaveBeenCalled();
    expect(a.responseHeard(resp("resp_2"))).toBe(true);
    expect(a.responseHeard(resp("resp_2"))).toBe(false);
    vi.advanceTimersByTime(20_000);
    expect(run).toHaveBeenCalledTimes(1);
    expect(a.waiting).toBe(false);
  });

  it("matches a tagged response by its tag, and our own utterance by its id", () => {
    const a = new AfterHeard(10_000);
    const bye = vi.fn();
    a.hold({ tag: "bye-1" }, bye);
    expect(a.responseHeard(resp("resp_9", "prompt"))).toBe(false);
    expect(a.responseHeard(resp("resp_9", "bye-1"))).toBe(true);
    expect(bye).toHaveBeenCalledTimes(1);
    const apology = vi.fn();
    a.hold({ utteranceId: "apology-1" }, apology);
    expect(a.utterancePlayed("other")).toBe(false);
    expect(a.utterancePlayed("apology-1")).toBe(true);
    expect(apology).toHaveBeenCalledTimes(1);
  });

  it("a mark that never echoes: the action runs at the timeout; cancel drops it; heard already runs at once", () => {
    const a = new AfterHeard(4000);
    const run = vi.fn();
    a.hold({ responseId: "r" }, run);
    vi.advanceTimersByTime(3999);
    expect(run).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(run).toHaveBeenCalledTimes(1);
    const dropped = vi.fn();
    a.hold({ responseId: "r" }, dropped);
    a.cancel();
    vi.advanceTimersByTime(10_000);
    expect(dropped).not.toHaveBeenCalled();
    const now = vi.fn();
    a.hold({ responseId: "r" }, now, true);
    expect(now).toHaveBeenCalledTimes(1);
    expect(a.waiting).toBe(false);
  });
});

describe("realtime CallerSilence", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("counts silences after each arm; caller speech starts the count again; busy or 0 ms never fires", () => {
    const seen: number[] = [];
    const s = new CallerSilence(700, (n) => void seen.push(n));
    s.arm(false);
    vi.advanceTimersByTime(699);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    s.arm(false);
    vi.advanceTimersByTime(700);
    expect(seen).toEqual([1, 2]);
    s.heard();
    s.arm(false);
    vi.advanceTimersByTime(700);
    expect(seen).toEqual([1, 2, 1]);
    s.arm(true);
    vi.advanceTimersByTime(5000);
    const off = new CallerSilence(0, (n) => void seen.push(n));
    off.arm(false);
    vi.advanceTimersByTime(5000);
    expect(seen).toEqual([1, 2, 1]);
  });
});
