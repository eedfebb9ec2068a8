import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";

/**
 * Call lifecycle as Twilio runs it, through the whole stack: the simulator's number has only a
 * Voice URL (no "call status changes" URL), so Twilio sends the gateway no status callback at all
 * for an inbound call; the call must still end when the caller hangs up.
 */
let v: VoiceStack;
const NUMBER = "+15005550006";

beforeAll(async () => {
  v = await startVoiceStack({ serviceEnv: { gateway: { INBOUND_POLICY: "open" } } });
  v.sim.setNumber(NUMBER, `${v.stack.origin}/voice/webhook`);
}, 120_000);
afterAll(async () => {
  await v?.stop();
});

describe("inbound call without a status callback", () => {
  it("ends when the caller hangs up (Twilio REST asked after the stream's stop)", async () => {
    const phone = await v.sim.incoming({ from: "+15005550001", to: NUMBER });
    expect((await phone.waitForStream(1, 20_000)).result?.ok).toBe(true);
    const callId = await waitFor(() => v.store.callIdBySid(phone.sid), "inbound call id");
    await waitFor(async () => (await v.store.getCall(callId))?.mediaOwner, "stream owned by media", 20_000);
    const hungUpAt = Date.now();
    await phone.hangup();
    await phone.waitForEnd();
    expect(phone.requests("status")).toHaveLength(0);
    const rec = await waitFor(
      async () => {
        const r = await v.store.getCall(callId);
        return r && r.state !== "in-progress" ? r : undefined;
      },
      "call ended in the gateway",
      20_000,
    );
    const endedInMs = Date.now() - hungUpAt;
    expect(rec.state).toBe("completed");
    expect(await v.store.activeCallIds()).not.toContain(callId);
    const last = (await v.store.timeline(callId)).at(-1)!;
    expect(last).toMatchObject({ state: "completed", source: "twilio-rest" });
    console.log(`inbound call without status callback ended ${endedInMs} ms after hang-up`);
  });
});
