import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import type { TranscriptEntry } from "@voicecall/contracts";
import { FakeRealtimeServer } from "../realtime/fake-realtime-server";

/**
 * The realtime engine through the whole stack: API (`engine: realtime`) → Twilio simulator dials →
 * signed webhook → wss stream through Caddy → media bridges it to a local server speaking the Realtime
 * protocol → greeting heard → the caller speaks (synthesised voice) → the model answers → the model
 * ends the call with its `end_call` tool → completed, transcript in Redis and in `GET /api/calls/:id`.
 */
const KEY = "sk-e2e-realtime-key-0123456789";
let v: VoiceStack;
let fake: FakeRealtimeServer;

beforeAll(async () => {
  fake = await FakeRealtimeServer.start({ apiKey: KEY });
  v = await startVoiceStack({ mediaReplicas: 1, serviceEnv: { media: { REALTIME_URL: fake.url, REALTIME_API_KEY: KEY, REALTIME_SILENCE_REPROMPT_MS: "0" } } });
}, 120_000);
afterAll(async () => {
  await v?.stop();
  await fake?.close();
});

describe("outbound realtime call", () => {
  it("greets with the model's voice, answers, and the model hangs up with end_call", async () => {
    fake.callerLines.push("what are your hours", "that is all thanks");
    fake.onUserTurn = (text) => (/that is all/.test(text) ? { say: "Goodbye.", tool: { name: "end_call", args: { reason: "caller done" } } } : { say: "We open at nine." });
    const created = await v.api<{ callId: string }>("POST", "/api/calls", { to: "+14155550123", engine: "realtime", greeting: "Hello from the realtime line." });
    expect(created.status).toBe(202);
    const { callId } = created.json;
    const phone = await v.sim.nextCall(20_000);
    await phone.waitForStream(1, 20_000);
    await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 30_000, 100);
    const session = fake.last!;
    expect(session.responses[0]!.metadata).toEqual({ vc: "greeting" });
    const greetingHeard = phone.heard().audio.length;
    expect(greetingHeard).toBeGreaterThanOrEqual(session.sentAudio[0]!.length);

    await phone.say("what are your opening hours");
    await waitFor(async () => (await v.store.transcript(callId)).some((t) => t.role === "agent" && t.text === "We open at nine."), "answer heard", 30_000, 100);
    await phone.say("that is all thanks");
    expect(await phone.waitForEnd(40_000)).toBe("completed");

    const shown = await v.api<{ call: { engine: string; state: string }; transcript: TranscriptEntry[] }>("GET", `/api/calls/${callId}`);
    expect(shown.json.call).toMatchObject({ engine: "realtime" });
    expect(shown.json.transcript.map((l) => [l.role, l.text])).toEqual([
      ["agent", "Hello from the realtime line."],
      ["caller", "what are your hours"],
      ["agent", "We open at nine."],
      ["caller", "that is all thanks"],
      ["agent", "Goodbye."],
    ]);
    // One stream, one model session: no reconnects along the way.
    expect(fake.sessions).toHaveLength(1);
  }, 180_000);
});
