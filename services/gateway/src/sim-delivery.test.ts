/**
 * The gateway against the simulator's untidy defaults (real NATS and Redis, gateway in-process): status
 * callbacks out of order and redelivered, a voice webhook retried after a timeout, a REST hang-up that
 * answers before the call ended, and one that answers 21220 because Twilio ended the call already.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminal, subjects, type CallState } from "@voicecall/contracts";
import type { DialOutcome, Simulator } from "@voicecall/twilio-sim";
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
    knobs: { seed: 1515 },
  });
  ({ gate: gw, sim } = gated);
  g = await startGateway(h, { TWILIO_API_BASE_URL: sim.origin, INBOUND_POLICY: "open" });
});
afterAll(async () => {
  await g?.close();
  await gated?.close();
  await h?.stop();
});

const rank = (s: string) => ({ queued: 0, initiated: 1, ringing: 2, "in-progress": 3 })[s] ?? 4;
const stateEvents = (callId: string) =>
  h.messages
    .filter((m) => m.subject === subjects.evt(callId) && m.data.type === "call.state")
    .map((m) => String(m.data.state));

describe("status callbacks out of order and twice (the simulator's default)", () => {
  it("10 calls: the record ends in Twilio's final state, the timeline only moves forward, each state announced once", async () => {
    const plan: { outcome: DialOutcome; final: CallState }[] = [
      ...Array.from({ length: 4 }, () => ({ outcome: {}, final: "completed" as const })),
      ...Array.from({ length: 2 }, () => ({ outcome: { result: "busy" as const }, final: "busy" as const })),
      ...Array.from({ length: 2 }, () => ({
        outcome: { result: "no-answer" as const, ringMs: 50 },
        final: "no-answer" as const,
      })),
      ...Array.from({ length: 2 }, () => ({ outcome: { result: "failed" as const }, final: "failed" as const })),
    ];
    const calls = [];
    for (const p of plan) {
      sim.queueOutcome(p.outcome);
      const r = await api(g.url, "POST", "/api/calls", { to: "+14155550123" });
      expect(r.status).toBe(202);
      calls.push({ ...p, callId: r.json.callId as string, phone: await sim.nextCall() });
    }
    for (const c of calls.filter((c) => c.final === "completed")) {
      await c.phone.waitForStatus("in-progress");
      expect((await api(g.url, "POST", `/api/calls/${c.callId}/hangup`)).status).toBe(202);
    }
    for (const c of calls) expect(await c.phone.waitForEnd(20_000)).toBe(c.final);
    for (const c of calls)
      await waitFor(async () => (await h.store.getCall(c.callId))?.state === c.final, `${c.callId} ${c.final}`, 10_000);
    await h.settle();
    for (const c of calls) {
      // (Notes such as a stream error keep the state they were made in: transitions only.)
      const tl = (await h.store.timeline(c.callId)).filter((t) => t.source !== "stream-status");
      const ranks = tl.map((t) => rank(t.state));
      expect(
        ranks.every((r, i) => i === 0 || r > ranks[i - 1]!),
        tl.map((t) => t.state).join(","),
      ).toBe(true);
      expect(tl.filter((t) => isTerminal(t.state))).toHaveLength(1);
      const announced = stateEvents(c.callId);
      expect(new Set(announced).size).toBe(announced.length);
      expect(announced.at(-1)).toBe(c.final);
      const ended = h.messages.filter(
        (m) => m.subject === subjects.lifecycle && m.data.type === "call.ended" && m.data.callId === c.callId,
      );
      expect(ended).toHaveLength(1);
    }
    // The disorder was there to be handled: redeliveries reached the gateway and were recognised.
    const sids = new Set(calls.map((c) => c.phone.sid));
    expect(
      sim.requests.filter((r) => r.kind === "status" && sids.has(r.callSid!) && r.attempt > 1).length,
    ).toBeGreaterThan(0);
    expect(g.logs.lines.some((l) => l.msg === "duplicate status callback ignored")).toBe(true);
    expect(await h.store.activeCallIds()).toEqual([]);
  });
});

describe("a voice webhook that times out is retried (same idempotency token)", () => {
  it("inbound: the retry and the late first request get the same TwiML; one call record, one call.created", async () => {
    sim.knobs.webhookTimeoutMs = 500;
    let first = true;
    // The first Url request waits at the gate past the simulator's timeout; the retry goes through.
    gw.holdWhile(
      (r) => r.path.startsWith("/voice/webhook") && !r.path.includes("reconnect") && first && !(first = false),
    );
    try {
      const phone = await sim.incoming({
        from: "+14155550177",
        to: "+14155550100",
        url: `${PUBLIC_URL}/voice/webhook`,
      });
      await waitFor(
        () => phone.requests("voice").some((r) => r.attempt === 2 && r.status === 200),
        "the retry answered",
        10_000,
      );
      const [timedOut, retry] = phone.requests("voice");
      expect(timedOut).toMatchObject({ attempt: 1, errorCode: 11205 });
      expect(retry!.idempotencyToken).toBe(timedOut!.idempotencyToken);
      gw.release(); // the first request now reaches the gateway, after its retry
      await waitFor(
        () => gw.answers.filter((a) => a.req.token === timedOut!.idempotencyToken).length === 2,
        "both answered",
      );
      const both = gw.answers.filter((a) => a.req.token === timedOut!.idempotencyToken);
      expect(both.map((a) => a.status)).toEqual([200, 200]);
      expect(both[1]!.body).toBe(both[0]!.body);
      expect(both[0]!.body).toContain("<Connect>");
      const callId = (await h.store.callIdBySid(phone.sid))!;
      expect(callId).toBeTruthy();
      await h.settle();
      const created = h.messages.filter(
        (m) => m.subject === subjects.lifecycle && m.data.type === "call.created" && m.data.callId === callId,
      );
      expect(created).toHaveLength(1);
      expect((await h.store.activeCallIds()).filter((id) => id === callId)).toHaveLength(1);
      await phone.hangup();
      await phone.waitForEnd(20_000);
    } finally {
      gw.release();
      sim.knobs.webhookTimeoutMs = 15_000;
    }
  });
});

describe("REST hang-up answers as Twilio does", () => {
  it("a call Twilio ended while its callbacks were lost: Twilio answers 21220, the gateway asks and ends the record", async () => {
    const r = await api(g.url, "POST", "/api/calls", { to: "+14155550124" });
    const { callId } = r.json as { callId: string };
    const phone = await sim.nextCall();
    await waitFor(async () => (await h.store.getCall(callId))?.state === "in-progress", "in-progress");
    // Every later callback for this call is lost on the way: we keep thinking it is live.
    gw.dropWhile((req) => req.body.includes(phone.sid) && req.path.startsWith("/voice/status?"));
    await sim.call(phone.sid)!.call.end("completed", "caller hung up");
    expect((await h.store.getCall(callId))!.state).toBe("in-progress");
    const hang = await api(g.url, "POST", `/api/calls/${callId}/hangup`);
    expect(hang.status).toBe(202);
    expect((await h.store.getCall(callId))!.state).toBe("completed");
    expect(g.logs.lines.find((l) => l.msg === "twilio hangup failed")).toMatchObject({ code: 21220, status: 400 });
    // Asked again, the API says the call is over.
    expect(await api(g.url, "POST", `/api/calls/${callId}/hangup`)).toMatchObject({
      status: 409,
      json: { error: "call already ended", state: "completed" },
    });
    gw.dropWhile(() => false);
  });
});
