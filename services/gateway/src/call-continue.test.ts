import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CallEvent, subjects } from "@voicecall/contracts";
import { waitFor } from "@voicecall/testkit";
import {
  ACCOUNT_SID,
  api,
  startGateway,
  startHarness,
  twilioPost,
  type Harness,
  type RunningGateway,
} from "../test/harness";

/** `POST /api/calls/:id/continue`: say, then wait for the caller's next final words (real NATS and Redis). */
let h: Harness;
let g: RunningGateway;
beforeAll(async () => {
  h = await startHarness();
  g = await startGateway(h);
  await g.gw.start();
});
afterAll(async () => {
  await g?.close();
  await h?.stop();
});
beforeEach(() => h.reset());

async function liveCall(): Promise<{ callId: string; callSid: string }> {
  const c = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json as {
    callId: string;
    callSid: string;
  };
  await twilioPost(g.url, `/voice/status?callId=${c.callId}`, {
    CallSid: c.callSid,
    AccountSid: ACCOUNT_SID,
    CallStatus: "in-progress",
  });
  return c;
}
const said = (callId: string) =>
  waitFor(
    () => h.messages.find((m) => m.subject === subjects.evt(callId) && m.data.type === "operator.say"),
    "operator.say",
    5_000,
  );
const final = (callId: string, text: string) =>
  h.bus.publish(subjects.evt(callId), CallEvent, {
    type: "transcript.final",
    callId,
    ts: Date.now(),
    streamSid: "MZ1",
    text,
  });

describe("continue", () => {
  it("says the text, then returns the caller's next final words", async () => {
    const { callId } = await liveCall();
    const pending = api(g.url, "POST", `/api/calls/${callId}/continue`, {
      text: "Which day suits you?",
      timeoutMs: 10_000,
    });
    expect((await said(callId)).data.text).toBe("Which day suits you?");
    final(callId, "tuesday");
    expect(await pending).toMatchObject({ status: 200, json: { callId, answered: true, text: "tuesday" } });
  });

  it("times out with a clear answer, and a call that ends meanwhile is a 409", async () => {
    const { callId, callSid } = await liveCall();
    expect(
      await api(g.url, "POST", `/api/calls/${callId}/continue`, { text: "Hello?", timeoutMs: 1000 }),
    ).toMatchObject({ status: 200, json: { answered: false, timedOut: true } });
    const pending = api(g.url, "POST", `/api/calls/${callId}/continue`, { text: "Still there?", timeoutMs: 10_000 });
    await waitFor(() => h.messages.filter((m) => m.data.type === "operator.say").length === 2, "second say", 5_000);
    await twilioPost(g.url, `/voice/status?callId=${callId}`, {
      CallSid: callSid,
      AccountSid: ACCOUNT_SID,
      CallStatus: "completed",
    });
    expect(await pending).toMatchObject({
      status: 409,
      json: { error: "call ended before the caller answered", state: "completed" },
    });
    expect((await api(g.url, "POST", `/api/calls/${callId}/continue`, { text: "Hi" })).status).toBe(409);
    expect((await api(g.url, "POST", `/api/calls/nope/continue`, { text: "Hi" })).status).toBe(404);
    expect((await api(g.url, "POST", `/api/calls/${callId}/continue`, { text: "" })).json.fields).toEqual(["text"]);
  });
});
