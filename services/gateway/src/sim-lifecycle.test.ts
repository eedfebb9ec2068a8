/**
 * Call lifecycle as Twilio runs it, against the simulator (gateway in-process, real NATS and Redis):
 * hang-up in the window after answer (the simulator models Twilio's `canceled` vs `completed`), and a
 * stream that fails every time (its handshake refused, as with a signature mismatch at first deploy).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { Simulator } from "@voicecall/twilio-sim";
import { waitFor } from "@voicecall/testkit";
import {
  ACCOUNT_SID,
  AUTH_TOKEN,
  PUBLIC_URL,
  api,
  startGateway,
  startHarness,
  type Harness,
  type RunningGateway,
} from "../test/harness";
import { RECONNECTS_EXHAUSTED } from "./voice-webhook";
import { startGatedSimulator, type twilioGate } from "../test/sim-gate";

let h: Harness;
let g: RunningGateway;
let sim: Simulator;
let gw: ReturnType<typeof twilioGate>;
let gated: Awaited<ReturnType<typeof startGatedSimulator>>;

beforeAll(async () => {
  h = await startHarness();
  gated = await startGatedSimulator(() => g.url, {
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
  });
  ({ gate: gw, sim } = gated);
  g = await startGateway(h, { TWILIO_API_BASE_URL: sim.origin, INBOUND_POLICY: "open" }, { maxReconnects: 3 });
});
afterAll(async () => {
  gw.release();
  await g?.close();
  await gated?.close();
  await h?.stop();
});

describe("hang-up", () => {
  it("ends a call the callee just answered, before any callback or webhook reached us", async () => {
    gw.holdWhile((r) => new URLSearchParams(r.body).get("CallStatus") === "in-progress");
    onTestFinished(() => gw.release());
    const r = await api(g.url, "POST", "/api/calls", {
      to: "+14155550123",
      mode: "conversation",
      greeting: "Hi there",
    });
    expect(r.status).toBe(202);
    const { callId } = r.json as { callId: string };
    const phone = await sim.nextCall();
    await phone.waitForStatus("in-progress");
    // Twilio has the call answered; we still think it is not (the answer callback and the webhook wait at
    // the gate; the earlier callbacks may not have come yet either: they arrive in any order).
    await waitFor(() => gw.held.length >= 2, "answered callback and voice webhook held");
    expect(["queued", "initiated", "ringing"]).toContain((await h.store.getCall(callId))!.state);

    const hang = await api(g.url, "POST", `/api/calls/${callId}/hangup`);
    expect(hang.status).toBe(202);
    // (Not `waitForEnd`: that also waits for the held callbacks.)
    expect(await phone.waitForStatus(["completed", "canceled"], 5_000)).toBe("completed");
    gw.release();
    await waitFor(async () => (await h.store.getCall(callId))?.state === "completed", "completed in the record");
    // The webhook that arrives after the hang-up gets no stream: the call never streams.
    await phone.call.callbacksSettled();
    expect(phone.streams).toHaveLength(0);
  });
});

describe("reconnects", () => {
  it("a stream that fails every time ends the call after maxReconnects: apology, hang-up, error logged with Twilio's cause", async () => {
    const phone = await sim.incoming({ from: "+14155550199", to: "+14155550100", url: `${PUBLIC_URL}/voice/webhook` });
    expect(await phone.waitForEnd(30_000)).toBe("completed");
    const voice = phone.requests().filter((r) => r.url.includes("/voice/webhook"));
    expect(voice.filter((r) => r.url.includes("reconnect=1"))).toHaveLength(4); // 3 allowed, the 4th hangs up
    expect(voice.at(-1)!.body).toContain("<Hangup/>");
    // A reconnect waits a moment, and every stream reports to our stream status callback.
    expect(voice[1]!.body).toMatch(
      /<Pause length="1"\/><Connect><Stream url="wss:\/\/voice\.example\.test\/voice\/stream" statusCallback="https:\/\/voice\.example\.test\/voice\/status\/stream\?callId=/,
    );
    expect(phone.streams.every((st) => st.result && !st.result.ok)).toBe(true);
    expect(phone.heard().sayTexts.map((t) => t.text)).toContain(RECONNECTS_EXHAUSTED);
    const callId = (await h.store.callIdBySid(phone.sid))!;
    const rec = (await h.store.getCall(callId))!;
    expect(rec.state).toBe("completed");
    expect(rec.endReason).toMatch(/^stream reconnects exhausted: Stream - WebSocket - Handshake Error: status 403/);
    const err = g.logs.lines.find((l) => l.msg === "stream reconnects exhausted, hanging up");
    expect(err).toMatchObject({ level: 50, reconnects: 4, cause: expect.stringMatching(/status 403/) });
    expect(g.logs.lines.some((l) => l.msg === "twilio reports a stream error" && l.level === 50)).toBe(true);
    expect(
      (await h.store.timeline(callId)).some(
        (t) => t.source === "stream-status" && /stream-error: .*403/.test(t.reason ?? ""),
      ),
    ).toBe(true);
  });
});
