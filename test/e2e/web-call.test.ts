import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import { StreamFrames } from "@voicecall/twilio-sim";

/** A browser-phone call is its stream: when the page's socket goes away, the call ends. */
let v: VoiceStack;

beforeAll(async () => {
  v = await startVoiceStack({
    serviceEnv: { gateway: { TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "", TWILIO_FROM_NUMBER: "" } },
  });
}, 120_000);
afterAll(async () => {
  await v?.stop();
});

describe("browser phone call without a Twilio account", () => {
  it("ends when the page's stream closes without a hang-up", async () => {
    const r = await v.api<{
      callId: string;
      callSid: string;
      accountSid: string;
      streamSid: string;
      streamUrl: string;
      token: string;
    }>("POST", "/phone/calls", {});
    expect(r.status).toBe(201);
    const c = r.json;
    const ws = new WebSocket(c.streamUrl, { ca: v.stack.ca });
    await new Promise((res, rej) => ws.once("open", res).once("error", rej));
    const frames = new StreamFrames(c);
    ws.send(frames.connected());
    ws.send(frames.start({ callId: c.callId, token: c.token }));
    // The greeting starts to play: the stream is live on a media worker.
    await new Promise<void>((res) => ws.on("message", (m) => JSON.parse(String(m)).event === "media" && res()));
    expect((await v.store.getCall(c.callId))?.state).toBe("in-progress");
    ws.terminate();
    await waitFor(
      async () => (await v.store.getCall(c.callId))?.state === "completed",
      "web call completed",
      30_000,
      100,
    );
    const last = (await v.store.timeline(c.callId)).at(-1)!;
    expect(last.reason).toMatch(/browser stream closed/);
    // Without Twilio, phone calls are refused with the reason.
    const phone = await v.api<{ error: string }>("POST", "/api/calls", { to: "+14155550123" });
    expect(phone.status).toBe(503);
  }, 90_000);
});
