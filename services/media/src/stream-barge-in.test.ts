import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { startHarness, rampAudio, type Harness } from "../test/harness";
import { energyPipelineFactory } from "../test/energy-pipeline";

// One media worker behind Caddy TLS, real NATS and Redis; its recogniser answers 1.5 s after each utterance.
describe("media: barge-in with a slow recogniser", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(1, {}, () => energyPipelineFactory({ finalDelayMs: 1500 }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("a sentence over the reply cuts it once: no resume while its transcript is on the way", async () => {
    const call = await h.newCall();
    const c = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "stream.started");
    h.speak(call.callId, "long", rampAudio(8000), { chunks: 8, generation: 2 });
    await waitFor(() => c.played >= 8000, "a second played");
    c.say(1900);
    const cut = await waitFor(() => h.of(call.callId, "interrupted")[0], "interrupted");
    const heardAtCut = c.played;
    await waitFor(() => h.of(call.callId, "speech.stopped")[0], "speech.stopped");
    const final = await waitFor(() => h.of(call.callId, "transcript.final")[0], "final");
    expect(final.text).toMatch(/word/);
    // The harness's FALSE_INTERRUPTION_MS (600) passed long before the final: the reply must not have come back.
    expect(h.of(call.callId, "resumed")).toEqual([]);
    expect(cut.utteranceId).toBe("long");
    await new Promise((r) => setTimeout(r, 200));
    expect(c.played - heardAtCut).toBeLessThanOrEqual(160); // at most what was in flight at the clear
    expect(c.clears.length).toBe(1);
  });

  it("a cough still resumes (the recogniser's no-words answer), even a slow one", async () => {
    const call = await h.newCall();
    const c = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "stream.started");
    h.speak(call.callId, "greet", rampAudio(4000), { chunks: 4, purpose: "greeting" });
    await waitFor(() => c.played >= 4000, "half a second played");
    c.say(300);
    await waitFor(() => h.of(call.callId, "interrupted")[0], "interrupted");
    const resumed = await waitFor(() => h.of(call.callId, "resumed")[0], "resumed");
    expect(resumed.utteranceId).toBe("greet");
    expect(h.of(call.callId, "transcript.final")).toEqual([]);
  });
});
