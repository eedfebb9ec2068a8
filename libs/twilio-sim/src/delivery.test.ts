/**
 * The simulator's defaults where Twilio is not tidy: status callbacks out of order and duplicated, a
 * webhook with no answer retried once with the same idempotency token, AMD that takes seconds, and a
 * REST hang-up that answers before the call has ended.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import twilio from "twilio";
import { startSimulator, type Simulator } from "./simulator";
import { simulatorHttpClient } from "./http-client";
import { FixtureApp } from "./fixture-app";
import { defaultKnobs } from "./types";

let app: FixtureApp;
let sim: Simulator;
let client: twilio.Twilio;
let base = "";

beforeAll(async () => {
  app = new FixtureApp("delivery-token");
  const port = await app.listen();
  base = app.publicOrigin = `http://127.0.0.1:${port}`;
  sim = await startSimulator({ authToken: "delivery-token", knobs: { seed: 42 } });
  client = twilio(sim.accountSid, sim.authToken, { httpClient: simulatorHttpClient(sim.origin) });
});
afterAll(async () => {
  await sim?.stop();
  await app?.close();
});

const events = ["initiated", "ringing", "answered", "completed"];
const hangupTwiml = '<Response><Pause length="1"/><Hangup/></Response>';

describe("status callbacks (default: unordered)", () => {
  it("arrive out of order and some twice, the twice ones with the same token and signature; each event is there", async () => {
    expect(defaultKnobs.statusCallbacks).toBe("unordered");
    const sids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await client.calls.create({
        to: "+15550100001",
        from: "+15550100002",
        twiml: hangupTwiml,
        statusCallback: `${base}/status`,
        statusCallbackEvent: events,
      });
      sids.push(c.sid);
    }
    await Promise.all(sids.map((sid) => sim.call(sid)!.waitForEnd(20_000)));
    let inverted = 0;
    let duplicated = 0;
    for (const sid of sids) {
      const got = app.hooks.filter((h) => h.path === "/status" && h.params.CallSid === sid);
      const seqs = got.map((h) => Number(h.params.SequenceNumber));
      if (seqs.some((s, i) => i > 0 && s < seqs[i - 1]!)) inverted++;
      expect(new Set(seqs)).toEqual(new Set([0, 1, 2, 3]));
      const recs = sim.requests.filter((r) => r.kind === "status" && r.callSid === sid);
      for (const again of recs.filter((r) => r.attempt > 1)) {
        duplicated++;
        const first = recs.find((r) => r.attempt === 1 && r.idempotencyToken === again.idempotencyToken)!;
        expect(again).toMatchObject({ signature: first.signature, params: first.params });
      }
      expect(got.every((h) => h.validSignature)).toBe(true);
    }
    expect(inverted).toBeGreaterThan(0);
    expect(duplicated).toBeGreaterThan(0);
  });

  it("orderly (knob): once each, in order", async () => {
    sim.knobs.statusCallbacks = "orderly";
    try {
      const c = await client.calls.create({
        to: "+15550100001",
        from: "+15550100002",
        twiml: hangupTwiml,
        statusCallback: `${base}/status-orderly`,
        statusCallbackEvent: events,
      });
      await sim.call(c.sid)!.waitForEnd();
      expect(app.hooks.filter((h) => h.path === "/status-orderly").map((h) => h.params.CallStatus)).toEqual([
        "initiated",
        "ringing",
        "in-progress",
        "completed",
      ]);
    } finally {
      sim.knobs.statusCallbacks = "unordered";
    }
  });
});

describe("a webhook with no answer", () => {
  it("is sent again once, same I-Twilio-Idempotency-Token; the retry's answer runs", async () => {
    expect(defaultKnobs.webhookRetries).toBe(1);
    sim.knobs.webhookTimeoutMs = 400;
    app.twiml["/voice-slow"] = "<Response><Say>from the retry</Say><Hangup/></Response>";
    app.slowFirst["/voice-slow"] = 1_500; // longer than the simulator waits
    try {
      const c = await client.calls.create({ to: "+15550100003", from: "+15550100004", url: `${base}/voice-slow` });
      expect(await sim.call(c.sid)!.waitForEnd()).toBe("completed");
      const tries = sim.requests.filter((r) => r.callSid === c.sid && r.kind === "voice");
      expect(tries.map((r) => [r.attempt, r.errorCode])).toEqual([
        [1, 11205],
        [2, undefined],
      ]);
      expect(tries[1]!.idempotencyToken).toBe(tries[0]!.idempotencyToken);
      const seen = app.hooks.filter((h) => h.path === "/voice-slow" && h.params.CallSid === c.sid);
      expect(seen.map((h) => h.idempotencyToken)).toEqual([tries[0]!.idempotencyToken, tries[0]!.idempotencyToken]);
      expect(
        sim
          .call(c.sid)!
          .heard()
          .sayTexts.map((t) => t.text),
      ).toEqual(["from the retry"]);
    } finally {
      sim.knobs.webhookTimeoutMs = defaultKnobs.webhookTimeoutMs;
    }
  });

  it("twice: error 11205 and Twilio's application error, no third request", async () => {
    const c = await client.calls.create({
      to: "+15550100003",
      from: "+15550100004",
      url: "http://127.0.0.1:9/nobody-listens",
    });
    expect(await sim.call(c.sid)!.waitForEnd()).toBe("completed");
    const tries = sim.requests.filter((r) => r.callSid === c.sid && r.kind === "voice");
    expect(tries.map((r) => r.errorCode)).toEqual([11205, 11205]);
    expect(sim.call(c.sid)!.heard().sayTexts.at(-1)!.source).toBe("twilio-error");
  });
});

describe("answering machine detection takes seconds", () => {
  it("async: the call runs at once, the result comes ≈ 2.5 s after the answer (human, Twilio's default thresholds)", async () => {
    app.twiml["/voice-amd"] = '<Response><Pause length="4"/></Response>';
    const c = await client.calls.create({
      to: "+15550100005",
      from: "+15550100006",
      url: `${base}/voice-amd`,
      machineDetection: "Enable",
      asyncAmd: "true",
      asyncAmdStatusCallback: `${base}/amd`,
    });
    const phone = sim.call(c.sid)!;
    await phone.waitForEnd(20_000);
    const answered = phone.call.events.find((e) => e.type === "status" && e.status === "in-progress")!.atMs;
    const amd = sim.requests.find((r) => r.callSid === c.sid && r.kind === "amd")!;
    const voice = sim.requests.find((r) => r.callSid === c.sid && r.kind === "voice")!;
    expect(amd.params).toMatchObject({ AnsweredBy: "human", MachineDetectionDuration: "2500" });
    expect(voice.at).toBeLessThan(amd.at);
    expect(amd.at - (phone.call.dateCreated + answered)).toBeGreaterThanOrEqual(2_500 - 5);
  });

  it("sync: the Url request waits for detection; past MachineDetectionTimeout the answer is unknown", async () => {
    sim.queueOutcome({ answeredBy: "machine_end_beep" });
    const c = await client.calls.create({
      to: "+15550100005",
      from: "+15550100006",
      url: `${base}/voice-sync`,
      machineDetection: "DetectMessageEnd",
      machineDetectionTimeout: 4,
    });
    const phone = sim.call(c.sid)!;
    await phone.waitForEnd(20_000);
    const answered = phone.call.events.find((e) => e.type === "status" && e.status === "in-progress")!.atMs;
    const voice = sim.requests.find((r) => r.callSid === c.sid && r.kind === "voice")!;
    // A beep after a ≈ 10 s greeting; the 4 s timeout gives up first.
    expect(voice.params).toMatchObject({ AnsweredBy: "unknown", MachineDetectionDuration: "4000" });
    expect(voice.at - (phone.call.dateCreated + answered)).toBeGreaterThanOrEqual(4_000 - 5);
  });
});

describe("REST hang-up", () => {
  it("answers 200 with the call as it was, then ends it; hanging up an ended call is 400, code 21220", async () => {
    expect(defaultKnobs.restHangupAnswer).toBe("before-hangup");
    app.twiml["/voice-long"] = '<Response><Pause length="30"/></Response>';
    const c = await client.calls.create({ to: "+15550100007", from: "+15550100008", url: `${base}/voice-long` });
    const phone = sim.call(c.sid)!;
    await phone.waitForStatus("in-progress");
    expect((await client.calls(c.sid).update({ status: "canceled" })).status).toBe("in-progress");
    expect(phone.status).toBe("in-progress"); // canceled does not touch an answered call
    expect((await client.calls(c.sid).update({ status: "completed" })).status).toBe("in-progress");
    expect(await phone.waitForEnd()).toBe("completed");
    expect((await client.calls(c.sid).fetch()).status).toBe("completed");
    await expect(client.calls(c.sid).update({ status: "completed" })).rejects.toMatchObject({
      status: 400,
      code: 21220,
    });
  });
});
