import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { verifyStreamToken } from "@voicecall/auth";
import { subjects } from "@voicecall/contracts";
import {
  ACCOUNT_SID,
  STREAM_SECRET,
  newCallSid,
  startGateway,
  startHarness,
  tokensIn,
  twilioPost,
  type Harness,
} from "../test/harness";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.reset());

const inbound = (from: string, callSid = newCallSid()) => ({
  CallSid: callSid,
  AccountSid: ACCOUNT_SID,
  From: from,
  To: "+14155550100",
  CallStatus: "ringing",
  Direction: "inbound",
});

async function ring(env: Record<string, string>, from: string) {
  const g = await startGateway(h, env);
  try {
    const params = inbound(from);
    const r = await twilioPost(g.url, "/voice/webhook", params);
    const callId = await h.store.callIdBySid(params.CallSid);
    const rec = callId ? await h.store.getCall(callId) : null;
    return { r, rec, params, g, logs: g.logs.lines };
  } finally {
    await g.close();
  }
}

describe("inbound policy", () => {
  it("disabled: <Reject/>, record `rejected`, logged", async () => {
    const { r, rec, logs } = await ring({ INBOUND_POLICY: "disabled" }, "+14155550199");
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/xml/);
    expect(r.body).toContain('<Reject reason="rejected"/>');
    expect(rec).toMatchObject({ state: "rejected", direction: "inbound", endReason: "inbound-disabled" });
    expect(logs.some((l) => l.msg === "inbound call rejected" && l.reason === "inbound-disabled")).toBe(true);
    expect(await h.store.activeCallIds()).toEqual([]);
  });

  it("allowlist: a caller not on the list is rejected; one on it (any spelling) is connected", async () => {
    const env = { INBOUND_POLICY: "allowlist", INBOUND_ALLOW_FROM: "+1 (415) 555-0111, +442079460000" };
    const no = await ring(env, "+14155550199");
    expect(no.r.body).toContain("<Reject");
    expect(no.rec).toMatchObject({ state: "rejected", endReason: "caller-not-allowed" });
    expect(no.logs.some((l) => l.msg === "inbound call rejected" && l.reason === "caller-not-allowed")).toBe(true);
    // The phone number is personal data: only under `pii`, which is redacted.
    expect(JSON.stringify(no.logs)).not.toContain("+14155550199");

    const yes = await ring(env, "+14155550111");
    expect(yes.r.body).toContain(
      '<Stream url="wss://voice.example.test/voice/stream" statusCallback="https://voice.example.test/voice/status/stream?callId=',
    );
    expect(yes.rec).toMatchObject({
      state: "in-progress",
      direction: "inbound",
      from: "+14155550111",
      greeting: expect.any(String),
    });
    expect(verifyStreamToken(STREAM_SECRET, tokensIn(yes.r.body)[0]!, yes.rec!.callId, yes.params.CallSid).ok).toBe(
      true,
    );
  });

  it("open: connected with INBOUND_GREETING, lifecycle created + answered, greeting pre-rendered", async () => {
    const { r, rec } = await ring(
      { INBOUND_POLICY: "open", INBOUND_GREETING: "Welcome to the test line" },
      "+14155550199",
    );
    expect(r.body).toContain("<Connect><Stream");
    expect(rec).toMatchObject({ state: "in-progress", greeting: "Welcome to the test line", mode: "conversation" });
    await h.settle();
    const life = h.messages
      .filter((m) => m.subject === subjects.lifecycle && m.data.callId === rec!.callId)
      .map((m) => m.data.type);
    expect(life).toEqual(["call.created", "call.answered"]);
    expect(h.messages.some((m) => m.subject === subjects.prerender && m.data.text === "Welcome to the test line")).toBe(
      true,
    );
  });

  it("open: retried first webhook → same TwiML and one record; then status `completed` ends it", async () => {
    const g = await startGateway(h, { INBOUND_POLICY: "open" });
    try {
      const params = inbound("+14155550199");
      const answers = await Promise.all([1, 2, 3, 4].map(() => twilioPost(g.url, "/voice/webhook", params)));
      expect(new Set(answers.map((a) => a.body)).size).toBe(1);
      expect(new Set(answers.flatMap((a) => tokensIn(a.body))).size).toBe(1);
      expect(await h.store.activeCallIds()).toHaveLength(1);
      const st = await twilioPost(g.url, "/voice/status", { ...params, CallStatus: "completed", CallDuration: "5" });
      expect(st.status).toBe(200);
      const callId = (await h.store.callIdBySid(params.CallSid))!;
      expect((await h.store.getCall(callId))!.state).toBe("completed");
      const after = await twilioPost(g.url, "/voice/webhook", params);
      expect(after.body).toMatch(/<Say>.+<\/Say><Hangup\/>/);
    } finally {
      await g.close();
    }
  });

  it("open but at MAX_CONCURRENT_CALLS: <Reject reason=busy/>, record rejected with the reason", async () => {
    const g = await startGateway(h, { INBOUND_POLICY: "open", MAX_CONCURRENT_CALLS: "1" });
    try {
      const first = await twilioPost(g.url, "/voice/webhook", inbound("+14155550101"));
      expect(first.body).toContain("<Connect>");
      const p2 = inbound("+14155550102");
      const second = await twilioPost(g.url, "/voice/webhook", p2);
      expect(second.body).toContain('<Reject reason="busy"/>');
      const rec = await h.store.getCall((await h.store.callIdBySid(p2.CallSid))!);
      expect(rec).toMatchObject({ state: "rejected", endReason: "max-concurrent-calls" });
    } finally {
      await g.close();
    }
  });
});
