import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isTerminal } from "@voicecall/contracts";
import { waitFor } from "@voicecall/testkit";
import { ACCOUNT_SID, api, newCallSid, startGateway, startHarness, twilioPost, type Harness } from "../test/harness";
import { reapOnce, reconcileActiveCalls } from "./reaper";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.reset());

/** A gateway whose clock the test moves. */
async function withClock(env: Record<string, string> = {}, orphanGraceMs = 3_600_000) {
  let t = Date.now();
  const g = await startGateway(
    h,
    { MAX_DURATION_SECONDS: "60", RING_TIMEOUT_SECONDS: "20", ...env },
    { maxDurationGraceMs: 1000, orphanGraceMs },
    () => t,
  );
  return { g, advance: (ms: number) => (t += ms) };
}

describe("reaper", () => {
  it("hangs up calls past MAX_DURATION_SECONDS, inbound ones too; leaves younger calls alone", async () => {
    const { g, advance } = await withClock({ INBOUND_POLICY: "open" });
    try {
      const out = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      await h.sim.call(out.callSid)!.setStatus("in-progress");
      await twilioPost(g.url, `/voice/status?callId=${out.callId}`, {
        CallSid: out.callSid,
        AccountSid: ACCOUNT_SID,
        CallStatus: "in-progress",
      });
      // An inbound call Twilio never sends an "answered" callback for (its sid is unknown to Twilio's REST API here).
      const inSid = newCallSid();
      await twilioPost(g.url, "/voice/webhook", {
        CallSid: inSid,
        AccountSid: ACCOUNT_SID,
        From: "+14155550199",
        To: "+14155550100",
        CallStatus: "ringing",
        Direction: "inbound",
      });
      const inId = (await h.store.callIdBySid(inSid))!;
      advance(30_000);
      expect(await reapOnce(g.gw.ctx)).toEqual({ checked: 2, reaped: 0 });
      advance(32_000);
      expect(await reapOnce(g.gw.ctx)).toEqual({ checked: 2, reaped: 2 });
      // Twilio answers the hang-up with the call still live and ends it just after (settleCall follows).
      await waitFor(async () => isTerminal((await h.store.getCall(out.callId))!.state), "out ended");
      expect(await h.store.getCall(out.callId)).toMatchObject({ state: "completed", endReason: "max-duration" });
      expect(
        h.sim.restRequests.some((r) => r.path.endsWith(`${out.callSid}.json`) && r.form.get("Status") === "completed"),
      ).toBe(true);
      expect(await h.store.getCall(inId)).toMatchObject({ state: "completed", endReason: "max-duration" });
      expect(await h.store.activeCallIds()).toEqual([]);
    } finally {
      await g.close();
    }
  });

  it("ends calls stuck before answer: asks Twilio first, then cancels", async () => {
    const { g, advance } = await withClock({ MAX_DURATION_SECONDS: "600" });
    try {
      const done = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      const stuck = (await api(g.url, "POST", "/api/calls", { to: "+14155550124" })).json;
      await h.sim.call(done.callSid)!.setStatus("busy"); // Twilio finished it, its callback was lost
      advance(81_000);
      await reapOnce(g.gw.ctx);
      expect((await h.store.getCall(done.callId))!.state).toBe("busy");
      await waitFor(async () => isTerminal((await h.store.getCall(stuck.callId))!.state), "stuck ended");
      expect(await h.store.getCall(stuck.callId)).toMatchObject({ state: "canceled", endReason: "stuck" });
      expect(h.sim.restRequests.filter((r) => r.form.get("Status")).map((r) => r.path.includes(stuck.callSid))).toEqual(
        [true],
      );
    } finally {
      await g.close();
    }
  });
});

describe("reaper: calls without a stream owner", () => {
  it("ends a browser-phone call whose worker died or whose stream never came; asks Twilio about a phone call; leaves a streaming call alone", async () => {
    const { g, advance } = await withClock({ MAX_DURATION_SECONDS: "600" }, 30_000);
    try {
      const web = async (mediaOwner?: string) => {
        const callId = `web-${Math.random().toString(36).slice(2, 10)}`;
        await h.store.createCall({
          callId,
          callSid: `WEB${callId}`,
          channel: "web",
          direction: "inbound",
          mode: "conversation",
          from: "client:browser",
          to: "agent",
          state: "in-progress",
          ...(mediaOwner ? { mediaOwner } : {}),
        });
        return callId;
      };
      const deadWorker = await web("media-dead");
      const neverStreamed = await web();
      const streaming = await web("media-1");
      await h.store.acquireLease("stream", streaming, "media-1/MZ1", 3_600_000);
      const phone = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      await h.sim.call(phone.callSid)!.setStatus("in-progress");
      await twilioPost(g.url, `/voice/status?callId=${phone.callId}`, {
        CallSid: phone.callSid,
        AccountSid: ACCOUNT_SID,
        CallStatus: "in-progress",
      });
      advance(10_000);
      expect(await reapOnce(g.gw.ctx)).toEqual({ checked: 4, reaped: 0 });
      advance(25_000);
      // Twilio still has the phone call live (it may be a transfer's <Dial>): it stays.
      expect(await reapOnce(g.gw.ctx)).toEqual({ checked: 4, reaped: 2 });
      expect(await h.store.getCall(deadWorker)).toMatchObject({ state: "completed", endReason: "stream owner gone" });
      expect(await h.store.getCall(neverStreamed)).toMatchObject({
        state: "completed",
        endReason: "stream owner gone",
      });
      expect((await h.store.getCall(streaming))!.state).toBe("in-progress");
      expect((await h.store.getCall(phone.callId))!.state).toBe("in-progress");
      // Twilio ended it (its callback was lost): the reaper's check applies that.
      await h.sim.call(phone.callSid)!.setStatus("completed");
      expect(await reapOnce(g.gw.ctx)).toEqual({ checked: 2, reaped: 1 });
      expect((await h.store.getCall(phone.callId))!.state).toBe("completed");
    } finally {
      await g.close();
    }
  });
});

describe("reconcile at start", () => {
  it("applies Twilio's view of active calls and never re-dials", async () => {
    const { g } = await withClock();
    try {
      const a = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      const b = (await api(g.url, "POST", "/api/calls", { to: "+14155550124" })).json;
      // A call in our records whose sid Twilio does not know.
      const c = { callId: `lost-${Math.random().toString(36).slice(2, 10)}`, callSid: newCallSid() };
      await h.store.createCall({
        ...c,
        channel: "twilio",
        direction: "outbound",
        mode: "conversation",
        from: "+14155550100",
        to: "+14155550125",
      });
      await h.sim.call(a.callSid)!.setStatus("in-progress");
      await h.sim.call(a.callSid)!.setStatus("completed");
      await h.sim.call(b.callSid)!.setStatus("in-progress");
      const creates = h.sim.restRequests.filter((r) => r.path.endsWith("/Calls.json")).length;
      expect(await reconcileActiveCalls(g.gw.ctx)).toBe(3);
      expect((await h.store.getCall(a.callId))!.state).toBe("completed");
      expect((await h.store.getCall(b.callId))!.state).toBe("in-progress");
      expect(await h.store.getCall(c.callId)).toMatchObject({ state: "failed", endReason: "unknown-to-twilio" });
      expect(h.sim.restRequests.filter((r) => r.path.endsWith("/Calls.json")).length).toBe(creates);
    } finally {
      await g.close();
    }
  });
});
