import { describe, expect, it } from "vitest";
import { Endpointer, type EndpointEvent } from "./endpointer";

/** Drive the endpointer with a voiced pattern: "v" = voiced 20 ms frame, "." = unvoiced. Frame i carries sample value i. */
function run(pattern: string, o = {}): { events: EndpointEvent[]; frames: number } {
  const ep = new Endpointer({ frameSamples: 4, sampleRate: 200, ...o }); // 4 samples per 20 ms keeps PCM easy to read
  const events: EndpointEvent[] = [];
  [...pattern].forEach((c, i) => {
    const ev = ep.push(c === "v", new Int16Array(4).fill(i));
    if (ev) events.push(ev);
  });
  const last = ep.flush();
  if (last) events.push(last);
  return { events, frames: pattern.length };
}

describe("Endpointer", () => {
  it("starts after onMs voiced and stops after silenceMs, with stream-time ms", () => {
    const { events } = run("....." + "v".repeat(20) + ".".repeat(40), {
      onMs: 100,
      silenceMs: 600,
      prerollMs: 40,
      tailMs: 40,
    });
    expect(events.map((e) => e.type)).toEqual(["speech.started", "speech.stopped"]);
    expect(events[0]).toEqual({ type: "speech.started", atMs: 100 });
    const stop = events[1] as Extract<EndpointEvent, { type: "speech.stopped" }>;
    expect(stop.atMs).toBe(500);
    expect(stop.durationMs).toBe(400);
    // preroll 2 frames (3,4) + 20 voiced (5..24) + tail 2 frames (25,26)
    const firstOfFrames = [...stop.pcm].filter((_, i) => i % 4 === 0);
    expect(firstOfFrames).toEqual(Array.from({ length: 24 }, (_, i) => i + 3));
  });

  it("ignores a blip shorter than onMs", () => {
    expect(run("...vvv......vv....", { onMs: 100, hangMs: 0 }).events).toEqual([]);
  });

  it("a short dip (≤ hangMs) does not restart the onset count", () => {
    const { events } = run("..vvv.vv" + ".".repeat(40), { onMs: 100, hangMs: 40, silenceMs: 200 });
    expect(events[0]).toEqual({ type: "speech.started", atMs: 40 });
  });

  it("pauses shorter than silenceMs stay in one utterance", () => {
    const { events } = run("vvvvvv" + ".".repeat(20) + "vvvvvv" + ".".repeat(40), { silenceMs: 600 });
    expect(events.map((e) => e.type)).toEqual(["speech.started", "speech.stopped"]);
  });

  it("cuts an utterance at maxMs and starts the next one on the following voiced run", () => {
    const { events } = run("v".repeat(40) + ".".repeat(40), { maxMs: 500, silenceMs: 200 });
    expect(events.map((e) => e.type)).toEqual(["speech.started", "speech.stopped", "speech.started", "speech.stopped"]);
  });

  it("flush ends a running utterance; idle flush gives nothing", () => {
    const { events } = run("..vvvvvvvv");
    expect(events.map((e) => e.type)).toEqual(["speech.started", "speech.stopped"]);
    expect(new Endpointer().flush()).toBeUndefined();
  });

  it("without keepPcm: the same events and times, no PCM held or returned", () => {
    const pattern = "....." + "v".repeat(20) + ".".repeat(40) + "vv.vvvvvv" + ".".repeat(40) + "vvvvvvvv";
    const o = { onMs: 100, silenceMs: 600, prerollMs: 40, tailMs: 40 };
    const withPcm = run(pattern, o).events;
    const without = run(pattern, { ...o, keepPcm: false }).events;
    expect(without.map((e) => ({ ...e, pcm: undefined }))).toEqual(withPcm.map((e) => ({ ...e, pcm: undefined })));
    expect(without.filter((e) => e.type === "speech.stopped").map((e) => e.pcm.length)).toEqual([0, 0, 0]);
    expect(withPcm.filter((e) => e.type === "speech.stopped").every((e) => e.pcm.length > 0)).toBe(true);
  });
});
