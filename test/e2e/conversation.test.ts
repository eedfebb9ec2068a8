import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulawDecode, voicedMs } from "@voicecall/audio";
import { startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";

/**
 * The seed's scenario, end to end and offline: API → Twilio simulator dials → signed webhook through
 * Caddy TLS → wss stream to a media worker → greeting heard → caller speaks → reply heard →
 * caller says goodbye → the agent ends the call → state completed, all of it in Redis.
 */
let v: VoiceStack;

beforeAll(async () => {
  v = await startVoiceStack({ mediaReplicas: 2 });
}, 120_000);
afterAll(async () => {
  await v?.stop();
});

const voicedHeard = (audio: Uint8Array) => voicedMs(mulawDecode(audio), 8000);

describe("outbound conversation call", () => {
  it("greets, answers, and hangs up on goodbye", async () => {
    const greeting = "Hello, thanks for calling Acme Dental. How can I help?";
    const created = await v.api<{ callId: string }>("POST", "/api/calls", {
      to: "+14155550123",
      mode: "conversation",
      greeting,
    });
    expect(created.status).toBe(202);
    const { callId } = created.json;
    const phone = await v.sim.nextCall(20_000);
    await phone.waitForStream(1, 20_000);

    // The greeting is heard and cleared only after Twilio echoed its end mark.
    await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 30_000, 100);
    const afterGreeting = phone.heard();
    expect(voicedHeard(afterGreeting.audio)).toBeGreaterThan(1500);

    await phone.say("what are your opening hours");
    await waitFor(
      async () => (await v.store.transcript(callId)).some((t) => t.role === "caller" && /opening hours/.test(t.text)),
      "caller transcript",
      30_000,
      100,
    );
    await waitFor(
      async () =>
        (await v.store.transcript(callId)).some((t) => t.role === "agent" && /open Monday to Friday/.test(t.text)),
      "agent reply in transcript",
      30_000,
      100,
    );
    const replyHeard = await phone.waitForAudio(afterGreeting.ms + 2000, 30_000);
    expect(voicedHeard(replyHeard.audio.subarray(afterGreeting.audio.length))).toBeGreaterThan(1500);

    await phone.say("no thanks");
    expect(await phone.waitForEnd(40_000)).toBe("completed");
    await waitFor(async () => (await v.store.getCall(callId))?.state === "completed", "state completed", 20_000, 100);

    const timeline = (await v.store.timeline(callId)).map((t) => t.state);
    expect(timeline[0]).toBe("queued");
    expect(timeline).toContain("in-progress");
    expect(timeline.at(-1)).toBe("completed");
    const lines = await v.store.transcript(callId);
    expect(lines.filter((l) => l.role === "caller").map((l) => l.text)).toEqual([
      "what are your opening hours",
      "no thanks",
    ]);
    expect(lines.some((l) => l.role === "agent" && /Goodbye/.test(l.text))).toBe(true);
  }, 180_000);
});
