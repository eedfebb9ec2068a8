import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { verifyStreamToken } from "@voicecall/auth";
import { subjects } from "@voicecall/contracts";
import { waitFor } from "@voicecall/testkit";
import {
  ACCOUNT_SID,
  STREAM_SECRET,
  api,
  evtTypes,
  startGateway,
  startHarness,
  tokensIn,
  twilioPost,
  type Harness,
  type RunningGateway,
} from "../test/harness";

let h: Harness;
let g: RunningGateway;
beforeAll(async () => {
  h = await startHarness();
  g = await startGateway(h);
});
afterAll(async () => {
  await g?.close();
  await h?.stop();
});
beforeEach(() => h.reset());

async function placeCall(body: Record<string, unknown> = {}) {
  const r = await api(g.url, "POST", "/api/calls", {
    to: "+14155550123",
    mode: "conversation",
    greeting: "Hi there",
    ...body,
  });
  expect(r.status).toBe(202);
  return r.json as { callId: string; callSid: string };
}

const base = (callSid: string, extra: Record<string, string> = {}) => ({
  CallSid: callSid,
  AccountSid: ACCOUNT_SID,
  From: "+14155550100",
  To: "+14155550123",
  Direction: "outbound-api",
  ApiVersion: "2010-04-01",
  ...extra,
});

describe("outbound call", () => {
  it("API → REST create with public URLs → signed webhook TwiML → status callbacks → completed with timeline", async () => {
    const { callId, callSid } = await placeCall({ machineDetection: "Enable" });
    const create = h.sim.restRequests.find((r) => r.path.endsWith("/Calls.json"))!;
    expect(create.form.get("Url")).toBe(`https://voice.example.test/voice/webhook?callId=${callId}`);
    expect(create.form.get("StatusCallback")).toBe(`https://voice.example.test/voice/status?callId=${callId}`);
    expect(create.form.getAll("StatusCallbackEvent")).toEqual(["initiated", "ringing", "answered", "completed"]);
    expect(create.form.get("Timeout")).toBe("30");
    expect(create.form.get("TimeLimit")).toBe("1800");
    expect(create.form.get("MachineDetection")).toBe("Enable");
    expect(create.form.get("AsyncAmd")).toBe("true");
    expect(create.form.get("AsyncAmdStatusCallback")).toBe(`https://voice.example.test/voice/amd?callId=${callId}`);
    expect(await h.store.getCall(callId)).toMatchObject({
      state: "queued",
      callSid,
      greeting: "Hi there",
      direction: "outbound",
    });
    await waitFor(
      () => h.messages.some((m) => m.subject === subjects.prerender && m.data.callId === callId),
      "prerender",
    );
    expect(
      h.messages.some(
        (m) => m.subject === subjects.lifecycle && m.data.type === "call.created" && m.data.callId === callId,
      ),
    ).toBe(true);

    for (const [i, s] of ["initiated", "ringing", "in-progress"].entries()) {
      const r = await twilioPost(
        g.url,
        `/voice/status?callId=${callId}`,
        base(callSid, { CallStatus: s, SequenceNumber: String(i), CallbackSource: "call-progress-events" }),
      );
      expect(r.status).toBe(200);
    }
    const wh = await twilioPost(g.url, `/voice/webhook?callId=${callId}`, base(callSid, { CallStatus: "in-progress" }));
    expect(wh.status).toBe(200);
    expect(wh.type).toMatch(/^text\/xml/);
    expect(wh.body).toContain(
      '<Stream url="wss://voice.example.test/voice/stream" statusCallback="https://voice.example.test/voice/status/stream?callId=',
    );
    expect(wh.body).toContain(`<Parameter name="callId" value="${callId}"/>`);
    expect(wh.body).toContain(
      `<Redirect method="POST">https://voice.example.test/voice/webhook?callId=${callId}&amp;reconnect=1</Redirect>`,
    );
    const [token] = tokensIn(wh.body);
    expect(verifyStreamToken(STREAM_SECRET, token!, callId, callSid).ok).toBe(true);

    const amd = await twilioPost(g.url, `/voice/amd?callId=${callId}`, {
      CallSid: callSid,
      AccountSid: ACCOUNT_SID,
      AnsweredBy: "machine_start",
      MachineDetectionDuration: "2100",
    });
    expect(amd.status).toBe(200);
    const done = await twilioPost(
      g.url,
      `/voice/status?callId=${callId}`,
      base(callSid, { CallStatus: "completed", SequenceNumber: "3", CallDuration: "12" }),
    );
    expect(done.status).toBe(200);

    const rec = await h.store.getCall(callId);
    expect(rec).toMatchObject({ state: "completed", answeredBy: "machine_start" });
    expect(rec!.answeredAt).toBeGreaterThan(0);
    expect(rec!.endedAt).toBeGreaterThan(0);
    expect((await h.store.timeline(callId)).map((t) => t.state)).toEqual([
      "queued",
      "initiated",
      "ringing",
      "in-progress",
      "completed",
    ]);
    expect(await h.store.activeCallIds()).toEqual([]);
    await waitFor(() => h.messages.some((m) => m.data.type === "call.ended" && m.data.callId === callId), "call.ended");
    expect(evtTypes(h, callId)).toEqual([
      "state:initiated",
      "state:ringing",
      "state:in-progress",
      "amd.result",
      "state:completed",
    ]);
    expect(h.messages.filter((m) => m.subject === subjects.lifecycle).map((m) => m.data.type)).toEqual([
      "call.created",
      "call.answered",
      "call.ended",
    ]);

    const view = await api(g.url, "GET", `/api/calls/${callId}`);
    expect(view.status).toBe(200);
    expect(view.json.call.state).toBe("completed");
    expect(view.json.timeline).toHaveLength(5);
    expect(view.json.transcript).toEqual([]);

    // After the end, the webhook still answers with words, never an empty body.
    const late = await twilioPost(
      g.url,
      `/voice/webhook?callId=${callId}&reconnect=1`,
      base(callSid, { CallStatus: "completed" }),
    );
    expect(late.status).toBe(200);
    expect(late.body).toMatch(/<Say>.+<\/Say><Hangup\/>/);
  });

  it("first webhook retried 3× gets the same TwiML, one token, one call record; a reconnect gets a fresh token", async () => {
    const { callId, callSid } = await placeCall();
    const params = base(callSid, { CallStatus: "in-progress" });
    const answers = [];
    // Retries of one delivery (same idempotency token), then a replay with no token, concurrently.
    answers.push(
      ...(await Promise.all(
        [1, 2].map(() => twilioPost(g.url, `/voice/webhook?callId=${callId}`, params, { idempotencyToken: "idem-1" })),
      )),
    );
    answers.push(await twilioPost(g.url, `/voice/webhook?callId=${callId}`, params, { idempotencyToken: "idem-1" }));
    answers.push(await twilioPost(g.url, `/voice/webhook?callId=${callId}`, params));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(new Set(answers.flatMap((a) => tokensIn(a.body))).size).toBe(1);
    expect(await h.store.activeCallIds()).toEqual([callId]);
    expect(await h.redis.keys("vc:call:*")).toEqual(expect.arrayContaining([`vc:call:${callId}`]));
    expect(
      (await h.redis.keys("vc:call:*")).filter((k) => !/:(timeline|transcript|events|delivery)$/.test(k)),
    ).toHaveLength(1);

    const first = tokensIn(answers[0]!.body)[0];
    const re1 = await twilioPost(g.url, `/voice/webhook?callId=${callId}&reconnect=1`, params, {
      idempotencyToken: "idem-2",
    });
    const re1Retry = await twilioPost(g.url, `/voice/webhook?callId=${callId}&reconnect=1`, params, {
      idempotencyToken: "idem-2",
    });
    const re2 = await twilioPost(g.url, `/voice/webhook?callId=${callId}&reconnect=1`, params, {
      idempotencyToken: "idem-3",
    });
    const t1 = tokensIn(re1.body)[0]!;
    expect(t1).not.toBe(first);
    expect(tokensIn(re1Retry.body)[0]).toBe(t1);
    expect(tokensIn(re2.body)[0]).not.toBe(t1);
    expect(verifyStreamToken(STREAM_SECRET, t1, callId, callSid).ok).toBe(true);
  });

  it("sync AMD: AnsweredBy on the Url request is recorded and published once", async () => {
    const { callId, callSid } = await placeCall({ machineDetection: "DetectMessageEnd", asyncAmd: false });
    const create = h.sim.restRequests.find((r) => r.path.endsWith("/Calls.json"))!;
    expect(create.form.get("AsyncAmd")).toBeNull();
    const params = base(callSid, { CallStatus: "in-progress", AnsweredBy: "machine_end_beep" });
    const a = await twilioPost(g.url, `/voice/webhook?callId=${callId}`, params);
    const b = await twilioPost(g.url, `/voice/webhook?callId=${callId}`, params);
    expect(a.body).toBe(b.body);
    expect((await h.store.getCall(callId))!.answeredBy).toBe("machine_end_beep");
    await h.settle();
    expect(evtTypes(h, callId).filter((t) => t === "amd.result")).toHaveLength(1);
    expect(h.messages.find((m) => m.data.type === "amd.result")!.data.answeredBy).toBe("machine_end_beep");
  });

  it("notify mode keeps the message as the greeting; client:<name> is a valid destination", async () => {
    const { callId } = await placeCall({
      to: "client:alice",
      mode: "notify",
      message: "Your parcel arrives today",
      greeting: undefined,
    });
    expect(await h.store.getCall(callId)).toMatchObject({
      mode: "notify",
      to: "client:alice",
      greeting: "Your parcel arrives today",
    });
  });

  it("Twilio refusing the call → 502, the call is failed and ended", async () => {
    // Twilio's magic number for "invalid To" with test credentials.
    const r = await api(g.url, "POST", "/api/calls", { to: "+15005550001" });
    expect(r.status).toBe(502);
    expect(r.json.code).toBe(21217);
    expect(await h.store.getCall(r.json.callId)).toMatchObject({ state: "failed" });
  });
});
