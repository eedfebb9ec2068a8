import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { startHarness, rampAudio, type Harness } from "../test/harness";

// The greeting tts rendered while the phone rang (issue #20): media plays it on `start` by itself.
describe("media: pre-rendered greeting", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(1);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("plays it on start, names it in stream.started, and reports its end like any utterance", async () => {
    const call = await h.newCall();
    const audio = rampAudio(600);
    await h.store.update(call.callId, { greeting: "Hello there" });
    await h.store.setPrerenderedGreeting(call.callId, "Hello there", audio, 60_000);
    const c = h.client(call);
    const started = await waitFor(() => h.of(call.callId, "stream.started")[0], "stream.started");
    expect(started.greeting).toMatch(/^greeting-/);
    const done = await waitFor(
      () => h.of(call.callId, "playback.mark").find((e) => e.utteranceId === started.greeting && e.done),
      "greeting played",
    );
    expect(done.playedMs).toBe(600);
    expect(Buffer.from(c.heard)).toEqual(Buffer.from(audio));
  });

  it("leaves it to the agent when the rendered text is not the call's greeting, or it was heard already", async () => {
    for (const rec of [{ greeting: "Changed since" }, { greeting: "Hello there", greetingPlayed: true }]) {
      const call = await h.newCall();
      await h.store.update(call.callId, rec);
      await h.store.setPrerenderedGreeting(call.callId, "Hello there", rampAudio(200), 60_000);
      h.client(call);
      const started = await waitFor(() => h.of(call.callId, "stream.started")[0], "stream.started");
      expect(started.greeting).toBeUndefined();
    }
  });
});
