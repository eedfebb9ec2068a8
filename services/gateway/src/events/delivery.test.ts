import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { WebhookEvent, WebhookEventData } from "@voicecall/contracts";
import { EventReceiver, readmeEventVerifier, waitFor, type VerifyEvent } from "@voicecall/testkit";
import {
  ACCOUNT_SID,
  api,
  startGateway,
  startHarness,
  twilioPost,
  type Harness,
  type RunningGateway,
} from "../../test/harness";

/**
 * Call events to a real receiver on loopback, from the in-process gateway over real Redis: order,
 * signature (checked with the README's own example), retries, dead letters, a receiver that is down
 * and a gateway restarted meanwhile. Time is compressed through the retry settings: 20 ms doubling to
 * 100 ms, so 3 s down here stands for ~10 min down under the defaults (1 s doubling to 60 s).
 */
const SECRET = "event-secret-0123456789abcdef";

let h: Harness;
let g: RunningGateway | undefined;
let rx: EventReceiver;
let verify: VerifyEvent;

beforeAll(async () => {
  h = await startHarness();
  verify = await readmeEventVerifier();
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(async () => {
  await h.reset();
  rx = await new EventReceiver().start();
});
afterEach(async () => {
  await g?.close();
  g = undefined;
  await rx.stop();
});

const gateway = async (env: Record<string, string> = {}) => {
  const r = await startGateway(
    h,
    {
      EVENT_WEBHOOK_URL: rx.url,
      EVENT_WEBHOOK_SECRET: SECRET,
      EVENT_RETRY_BASE_MS: "20",
      EVENT_RETRY_MAX_MS: "100",
      EVENT_WEBHOOK_TIMEOUT_MS: "5000",
      ...env,
    },
    { eventPollMs: 20, eventLeaseMs: 2_000 },
  );
  await r.gw.start();
  return r;
};
const place = async (gw: RunningGateway, body: Record<string, unknown> = {}) => {
  const r = await api(gw.url, "POST", "/api/calls", { to: "+14155550123", ...body });
  expect(r.status).toBe(202);
  return r.json as { callId: string; callSid: string };
};
const status = (gw: RunningGateway, callId: string, callSid: string, s: string) =>
  twilioPost(gw.url, `/voice/status?callId=${callId}`, { CallSid: callSid, AccountSid: ACCOUNT_SID, CallStatus: s });

/** A whole call: created, answered, two lines, a tool, a digit, measured turns, ended. */
async function wholeCall(gw: RunningGateway, body: Record<string, unknown> = {}): Promise<string> {
  const { callId, callSid } = await place(gw, body);
  await status(gw, callId, callSid, "in-progress");
  await h.store.appendTranscript(callId, {
    role: "agent",
    text: "Hello, how can I help?",
    ts: Date.now(),
    utteranceId: "g1",
  });
  await h.store.appendTranscript(callId, { role: "caller", text: "what are your opening hours", ts: Date.now() });
  await h.store.appendTranscript(callId, {
    role: "agent",
    text: "We are open",
    ts: Date.now(),
    utteranceId: "r1-0",
    interrupted: true,
  });
  await h.store.appendEvent(callId, "tool.called", { name: "end_call", args: { reason: "done" } });
  await h.store.appendEvent(callId, "dtmf", { digit: "5" });
  await h.store.incrFalseInterruptions(callId);
  for (const ms of [300, 500, 700, 900])
    await h.store.recordTurn({ callId, kind: "reply", latencyMs: ms, ts: Date.now() });
  await h.store.update(callId, { answeredBy: "human" });
  await status(gw, callId, callSid, "completed");
  return callId;
}
const WHOLE = [
  "call.created",
  "call.answered",
  "transcript",
  "transcript",
  "transcript",
  "tool.called",
  "dtmf",
  "call.ended",
];
const delivered = (callId: string, n: number) =>
  waitFor(() => rx.events(callId).length >= n, `${n} events of ${callId}`, 20_000);

describe("call events", () => {
  it("delivers every event of a call once, in order, signed as README documents", async () => {
    g = await gateway();
    const callId = await wholeCall(g);
    await delivered(callId, WHOLE.length);
    const evs = rx.events(callId);
    expect(evs.map((e) => e.type)).toEqual(WHOLE);
    expect(rx.requests).toHaveLength(WHOLE.length); // no duplicates without a failure
    for (const r of rx.requests) {
      const e = WebhookEvent.parse(r.json);
      WebhookEventData[e.type].parse(e.data);
      expect(r.headers["voicecall-event-id"]).toBe(e.id);
      expect(r.headers["voicecall-event-type"]).toBe(e.type);
      expect(verify(SECRET, r.headers["voicecall-signature"], r.raw)).toBe(true);
      // A wrong secret, a changed body, or a replay outside the window fail the same check.
      expect(verify("another-secret-0123456789", r.headers["voicecall-signature"], r.raw)).toBe(false);
      expect(verify(SECRET, r.headers["voicecall-signature"], r.raw.replace("}", ',"x":1}'))).toBe(false);
      expect(verify(SECRET, r.headers["voicecall-signature"], r.raw, 300, Date.now() / 1000 + 301)).toBe(false);
    }
    expect(new Set(evs.map((e) => e.id)).size).toBe(evs.length);
    expect(evs[2]!.data).toMatchObject({ role: "agent", text: "Hello, how can I help?" });
    expect(evs[3]!.data).toMatchObject({ role: "caller", text: "what are your opening hours" });
    expect(evs[5]!.data).toEqual({ name: "end_call", args: { reason: "done" } });
    expect(evs[6]!.data).toEqual({ digit: "5" });
    const report = evs[7]!.data;
    expect(report).toMatchObject({
      state: "completed",
      answeredBy: "human",
      bargeIns: 1,
      falseInterruptions: 1,
      turnLatencyMs: { count: 4, p50: 500, p90: 900, p95: 900, max: 900 },
    });
    expect(report.transcript.map((t: { role: string }) => t.role)).toEqual(["agent", "caller", "agent"]);
    expect(report.durationMs).toBeGreaterThanOrEqual(report.talkMs);
    expect(report.talkMs).toBeGreaterThanOrEqual(0);
  });

  it("retries 5xx and timeouts with the same id and holds the call's later events back", async () => {
    rx.answer = (_r, n) => (n === 1 ? 503 : n === 2 ? "hang" : n === 3 ? 429 : 204);
    g = await gateway({ EVENT_WEBHOOK_TIMEOUT_MS: "1000" });
    const callId = await wholeCall(g);
    await delivered(callId, WHOLE.length);
    expect(rx.events(callId).map((e) => e.type)).toEqual(WHOLE);
    const second = rx.requests.filter((r) => r.json.type === "call.answered");
    expect(second.map((r) => r.answered)).toEqual([503, "hang", 429, 204]);
    expect(new Set(second.map((r) => r.json.id)).size).toBe(1);
    expect(second.map((r) => r.headers["voicecall-delivery-attempt"])).toEqual(["1", "2", "3", "4"]);
    // Nothing after it was sent before it was accepted.
    const firstLater = rx.requests.findIndex((r) => r.json.type === "transcript");
    expect(firstLater).toBeGreaterThan(rx.requests.indexOf(second.at(-1)!));
  });

  it("a 4xx is final: dead-lettered at once, the call carries on; resend delivers it and clears the list", async () => {
    rx.answer = (r) => (r.json.type === "dtmf" ? 400 : 204);
    g = await gateway();
    const callId = await wholeCall(g);
    await delivered(callId, WHOLE.length - 1);
    expect(rx.events(callId).map((e) => e.type)).toEqual(WHOLE.filter((t) => t !== "dtmf"));
    expect(rx.requests.filter((r) => r.json.type === "dtmf")).toHaveLength(1);
    const list = await api(g.url, "GET", "/api/events");
    expect(list.status).toBe(200);
    expect(list.json.dead).toMatchObject([
      { callId, type: "dtmf", attempts: 1, error: "receiver answered 400", url: rx.url },
    ]);
    rx.answer = () => 204;
    const resent = await api(g.url, "POST", `/api/events/dead/${list.json.dead[0].id}/resend`);
    expect(resent).toMatchObject({ status: 200, json: { delivered: true } });
    const again = rx.requests.at(-1)!;
    expect(again.json).toEqual(rx.requests.find((r) => r.json.type === "dtmf")!.json);
    expect(verify(SECRET, again.headers["voicecall-signature"], again.raw)).toBe(true);
    expect((await api(g.url, "GET", "/api/events")).json.dead).toEqual([]);
    expect((await api(g.url, "POST", "/api/events/dead/1-0/resend")).status).toBe(404);
    expect((await api(g.url, "GET", "/api/events", undefined, "wrong-token-0123456789abcdef")).status).toBe(401);
  });

  it("gives up after EVENT_RETRY_BUDGET_MS: dead letter, then the next event", async () => {
    rx.answer = (r) => (r.json.type === "call.answered" ? 503 : 204);
    g = await gateway({ EVENT_RETRY_BUDGET_MS: "400" });
    const callId = await wholeCall(g);
    await delivered(callId, WHOLE.length - 1);
    const tries = rx.requests.filter((r) => r.json.type === "call.answered");
    expect(tries.length).toBeGreaterThan(2);
    const dead = (await api(g.url, "GET", "/api/events")).json.dead;
    expect(dead).toMatchObject([
      { callId, type: "call.answered", attempts: tries.length, error: "receiver answered 503" },
    ]);
  });

  it("a receiver down (long, compressed) gets everything when back, in order, across a gateway restart", async () => {
    await rx.stop();
    g = await gateway();
    const a = await wholeCall(g);
    const b = await wholeCall(g, { eventWebhookUrl: rx.url.replace("/hooks/", "/per-call/") });
    // Both calls are failing and backing off.
    await waitFor(
      async () => (await h.store.events.state(a)).attempts >= 3 && (await h.store.events.state(b)).attempts >= 3,
      "retries while down",
      10_000,
    );
    await g.close(); // the gateway restarts while the receiver is still down
    g = await gateway();
    await new Promise((r) => setTimeout(r, 3_000));
    expect(rx.requests).toHaveLength(0);
    await rx.start();
    await delivered(a, WHOLE.length);
    await delivered(b, WHOLE.length);
    expect(rx.events(a).map((e) => e.type)).toEqual(WHOLE);
    expect(rx.events(b).map((e) => e.type)).toEqual(WHOLE);
    expect(rx.requests).toHaveLength(2 * WHOLE.length);
    // The per-call URL won over EVENT_WEBHOOK_URL.
    expect(new Set(rx.requests.filter((r) => r.json.callId === b).map((r) => r.path))).toEqual(
      new Set(["/per-call/voicecall"]),
    );
    expect(new Set(rx.requests.filter((r) => r.json.callId === a).map((r) => r.path))).toEqual(
      new Set(["/hooks/voicecall"]),
    );
    await waitFor(async () => (await h.store.events.dueCalls()).length === 0, "due set empty", 5_000);
  });

  it("a per-call receiver needs the secret; bad URLs are refused", async () => {
    g = await gateway({ EVENT_WEBHOOK_URL: "", EVENT_WEBHOOK_SECRET: "" });
    const r = await api(g.url, "POST", "/api/calls", { to: "+14155550123", eventWebhookUrl: rx.url });
    expect(r).toMatchObject({ status: 400, json: { fields: ["eventWebhookUrl"] } });
    await g.close();
    g = await gateway();
    expect(
      (await api(g.url, "POST", "/api/calls", { to: "+14155550123", eventWebhookUrl: "ftp://x/y" })).json.fields,
    ).toEqual(["eventWebhookUrl"]);
  });
});
