import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CommandMessage, subjects } from "@voicecall/contracts";
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

let h: Harness;
let g: RunningGateway;
beforeAll(async () => {
  h = await startHarness();
  g = await startGateway(h, { MAX_CONCURRENT_CALLS: "3" });
  await g.gw.start();
});
afterAll(async () => {
  await g?.close();
  await h?.stop();
});
beforeEach(() => h.reset());

const place = async (to = "+14155550123") =>
  (await api(g.url, "POST", "/api/calls", { to })).json as { callId: string; callSid: string };
const answer = async (callId: string, callSid: string) => {
  await h.sim.call(callSid)!.setStatus("in-progress");
  return twilioPost(g.url, `/voice/status?callId=${callId}`, {
    CallSid: callSid,
    AccountSid: ACCOUNT_SID,
    CallStatus: "in-progress",
  });
};

describe("calls API", () => {
  it("needs the bearer token", async () => {
    expect((await api(g.url, "GET", "/api/calls", undefined, "wrong-token-0123456789abcdef")).status).toBe(401);
    const none = await fetch(g.url + "/api/calls");
    expect(none.status).toBe(401);
  });

  it("validation errors name the fields", async () => {
    const r = await api(g.url, "POST", "/api/calls", {
      to: "0415 555",
      mode: "chat",
      machineDetection: "Maybe",
      extra: 1,
    });
    expect(r.status).toBe(400);
    expect(r.json.fields).toEqual(expect.arrayContaining(["to", "mode", "machineDetection"]));
    const notify = await api(g.url, "POST", "/api/calls", { to: "+14155550123", mode: "notify" });
    expect(notify.status).toBe(400);
    expect(notify.json.fields).toEqual(["message"]);
    expect((await api(g.url, "POST", "/api/calls", "{not json")).status).toBe(400);
    expect((await api(g.url, "GET", "/api/calls?state=completed")).json.fields).toEqual(["state"]);
    expect(h.sim.restRequests).toHaveLength(0);
  });

  it("engine per call: realtime when asked, else the pipeline (VOICE_ENGINE's default); a bad engine names the field", async () => {
    const rt = (await api(g.url, "POST", "/api/calls", { to: "+14155550123", engine: "realtime" })).json as {
      callId: string;
    };
    expect((await h.store.getCall(rt.callId))!.engine).toBe("realtime");
    const plain = await place();
    expect((await h.store.getCall(plain.callId))!.engine).toBe("pipeline");
    const bad = await api(g.url, "POST", "/api/calls", { to: "+14155550123", engine: "s2s" });
    expect(bad.status).toBe(400);
    expect(bad.json.fields).toEqual(["engine"]);
    for (const c of [rt, plain]) await api(g.url, "POST", `/api/calls/${c.callId}/hangup`);
  });

  it("lists active calls, shows one, 404 for unknown; MAX_CONCURRENT_CALLS → 429", async () => {
    const a = await place();
    const b = await place();
    await answer(b.callId, b.callSid);
    await place();
    const over = await api(g.url, "POST", "/api/calls", { to: "+14155550123" });
    expect(over.status).toBe(429);
    const list = await api(g.url, "GET", "/api/calls?state=active");
    expect(list.json.calls.map((c: { callId: string }) => c.callId).sort()).toEqual(
      expect.arrayContaining([a.callId, b.callId]),
    );
    expect(list.json.calls).toHaveLength(3);
    expect(
      (await api(g.url, "GET", "/api/calls?state=in-progress")).json.calls.map((c: { callId: string }) => c.callId),
    ).toEqual([b.callId]);
    expect((await api(g.url, "GET", `/api/calls/${a.callId}`)).json.call.state).toBe("queued");
    expect((await api(g.url, "GET", "/api/calls/nope")).status).toBe(404);
  });

  it("say publishes operator.say; hangup goes through Twilio REST with Status=completed (ends a call in any state)", async () => {
    const a = await place();
    const b = await place();
    await answer(b.callId, b.callSid);
    const say = await api(g.url, "POST", `/api/calls/${b.callId}/say`, { text: "Please hold" });
    expect(say.status).toBe(202);
    expect((await api(g.url, "POST", `/api/calls/${b.callId}/say`, { words: "x" })).json.fields).toEqual(
      expect.arrayContaining(["text"]),
    );
    await waitFor(
      () =>
        h.messages.some(
          (m) =>
            m.subject === subjects.evt(b.callId) && m.data.type === "operator.say" && m.data.text === "Please hold",
        ),
      "operator.say",
    );

    expect((await api(g.url, "POST", `/api/calls/${a.callId}/hangup`)).status).toBe(202);
    expect((await api(g.url, "POST", `/api/calls/${b.callId}/hangup`)).status).toBe(202);
    const updates = h.sim.restRequests.filter(
      (r) => r.path.endsWith(`${a.callSid}.json`) || r.path.endsWith(`${b.callSid}.json`),
    );
    expect(updates.map((u) => u.form.get("Status"))).toEqual(["completed", "completed"]);
    // Twilio answers a hang-up with the call as it was and ends it just after: our record follows by
    // asking again (settleCall), not from the answer.
    await waitFor(async () => (await h.store.getCall(a.callId))!.state === "canceled", "a canceled");
    await waitFor(async () => (await h.store.getCall(b.callId))!.state === "completed", "b completed");
    expect((await api(g.url, "POST", `/api/calls/${b.callId}/hangup`)).status).toBe(409);
    expect((await api(g.url, "POST", `/api/calls/${b.callId}/say`, { text: "late" })).status).toBe(409);
  });

  it("bus commands: hangup → REST Status=completed; transfer → REST <Dial>", async () => {
    const a = await place();
    await answer(a.callId, a.callSid);
    h.bus.publish(subjects.cmd(a.callId), CommandMessage, {
      type: "transfer",
      callId: a.callId,
      ts: Date.now(),
      to: "+14155550999",
    });
    await waitFor(() => h.sim.restRequests.find((r) => r.form.get("Twiml")), "transfer update");
    expect(h.sim.restRequests.find((r) => r.form.get("Twiml"))!.form.get("Twiml")).toContain(
      "<Dial>+14155550999</Dial>",
    );
    h.bus.publish(subjects.cmd(a.callId), CommandMessage, {
      type: "hangup",
      callId: a.callId,
      ts: Date.now(),
      reason: "agent-done",
    });
    await waitFor(async () => (await h.store.getCall(a.callId))!.state === "completed", "hangup applied");
    expect(h.sim.restRequests.filter((r) => r.form.get("Status")).map((r) => r.form.get("Status"))).toEqual([
      "completed",
    ]);
    expect((await h.store.getCall(a.callId))!.endReason).toBe("agent-done");
  });
});

describe("API rate limit", () => {
  it("429 after the per-minute budget", async () => {
    const g2 = await startGateway(h, {}, { apiRatePerMinute: 3 });
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await api(g2.url, "GET", "/api/calls")).status);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
    } finally {
      await g2.close();
    }
  });
});
