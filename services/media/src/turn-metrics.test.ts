import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { startHarness, rampAudio, type Harness } from "../test/harness";

// Per-turn latency is recorded where the turn ends: the first frame of a greeting / reply sent to Twilio.
describe("media: per-turn latency records (store.recordTurn)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(1);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("records the greeting once, and a reply only after a caller's final", async () => {
    const since = Date.now() - 1;
    const call = await h.newCall();
    const c = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "stream.started");
    const turns = async () => (await h.store.turns(since)).filter((t) => t.callId === call.callId);

    h.speak(call.callId, "greet", rampAudio(400), { purpose: "greeting" });
    await waitFor(async () => (await turns()).some((t) => t.kind === "greeting"), "greeting turn");
    // A reply nobody asked for (no final since the last reply) is not a turn.
    h.speak(call.callId, "unasked", rampAudio(200), { purpose: "reply", generation: 1 });
    await waitFor(
      () => h.of(call.callId, "playback.mark").find((e) => e.utteranceId === "unasked" && e.done),
      "unasked played",
    );
    expect((await turns()).filter((t) => t.kind === "reply")).toHaveLength(0);

    c.say(1200);
    await waitFor(() => h.of(call.callId, "transcript.final")[0], "final");
    h.speak(call.callId, "answer", rampAudio(300), { purpose: "reply", generation: 2 });
    h.speak(call.callId, "answer-2", rampAudio(300), { purpose: "reply", generation: 2 });
    await waitFor(
      () => h.of(call.callId, "playback.mark").find((e) => e.utteranceId === "answer-2" && e.done),
      "answer played",
    );
    const all = await turns();
    expect(all.filter((t) => t.kind === "greeting")).toHaveLength(1);
    const replies = all.filter((t) => t.kind === "reply");
    expect(replies).toHaveLength(1);
    expect(replies[0]!.latencyMs).toBeGreaterThanOrEqual(0);
  });
});
