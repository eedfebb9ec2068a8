import { afterAll, beforeAll, describe, expect, it } from "vitest";
import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import twilio from "twilio";
import { startSimulator, type Simulator } from "./simulator";
import { simulatorHttpClient } from "./http-client";

/** A plain-http receiver for status callbacks, validating every signature with the twilio library. */
async function receiver(token: string) {
  const got: { path: string; params: Record<string, string>; valid: boolean }[] = [];
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.post(/.*/, (req, res) => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${req.originalUrl}`;
    got.push({
      path: req.path,
      params: req.body,
      valid: twilio.validateRequest(token, String(req.headers["x-twilio-signature"]), url, req.body),
    });
    res.type("text/xml").send("<Response/>");
  });
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, "127.0.0.1", () => r(s));
  });
  return { got, server, base: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("REST Calls API driven by the real twilio client", () => {
  let sim: Simulator;
  let client: twilio.Twilio;
  let rx: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    sim = await startSimulator({ authToken: "sim-token" });
    client = twilio(sim.accountSid, sim.authToken, { httpClient: simulatorHttpClient(sim.origin) });
    rx = await receiver("sim-token");
  });
  afterAll(async () => {
    await sim.stop();
    rx.server.close();
  });

  it("account fetch and the number's voice URL, as the twilio client reads them", async () => {
    sim.setNumber("+15005550006", "https://voice.example.com/voice/webhook");
    const acct = await client.api.v2010.accounts(sim.accountSid).fetch();
    expect(acct.sid).toBe(sim.accountSid);
    expect(acct.status).toBe("active");
    const [n] = await client.incomingPhoneNumbers.list({ phoneNumber: "+15005550006", limit: 1 });
    expect(n?.voiceUrl).toBe("https://voice.example.com/voice/webhook");
    // A number set up with only a Voice URL has no status callback (Twilio then sends none for inbound calls).
    expect(n?.statusCallback).toBe("");
    sim.setNumber("+15005550006", {
      voiceUrl: "https://voice.example.com/voice/webhook",
      statusCallback: "https://voice.example.com/voice/status",
    });
    const [m] = await client.incomingPhoneNumbers.list({ phoneNumber: "+15005550006", limit: 1 });
    expect([m?.statusCallback, m?.statusCallbackMethod]).toEqual(["https://voice.example.com/voice/status", "POST"]);
    expect(await client.incomingPhoneNumbers.list({ phoneNumber: "+15005550007" })).toEqual([]);
    const wrong = twilio(sim.accountSid, "not-the-token", { httpClient: simulatorHttpClient(sim.origin) });
    await expect(wrong.api.v2010.accounts(sim.accountSid).fetch()).rejects.toMatchObject({ status: 401, code: 20003 });
  });

  it("create → 201 queued, every status callback (each event at least once), update with Twiml ends it, fetch shows completed", async () => {
    const created = await client.calls.create({
      to: "+15558675310",
      from: "+15017122661",
      twiml: '<Response><Pause length="30"/></Response>',
      statusCallback: `${rx.base()}/status`,
      statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
    });
    expect(created.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(created.status).toBe("queued");
    expect(created.direction).toBe("outbound-api");
    expect(created.dateCreated).toBeInstanceOf(Date);
    const phone = await sim.nextCall();
    expect(phone.sid).toBe(created.sid);
    await phone.waitForStatus("in-progress");
    const updated = await client.calls(created.sid).update({ twiml: "<Response><Hangup/></Response>" });
    expect(updated.sid).toBe(created.sid);
    expect(await phone.waitForEnd()).toBe("completed");
    const fetched = await client.calls(created.sid).fetch();
    expect(fetched.status).toBe("completed");
    expect(fetched.endTime).toBeInstanceOf(Date);
    // By default they come in any order and some twice: one per SequenceNumber, in SequenceNumber order.
    const got = rx.got.filter((g) => g.params.CallSid === created.sid);
    const cbs = [...new Map(got.map((c) => [c.params.SequenceNumber, c])).values()].sort(
      (a, b) => Number(a.params.SequenceNumber) - Number(b.params.SequenceNumber),
    );
    expect(cbs.map((c) => c.params.CallStatus)).toEqual(["initiated", "ringing", "in-progress", "completed"]);
    expect(cbs.map((c) => c.params.SequenceNumber)).toEqual(["0", "1", "2", "3"]);
    expect(cbs.every((c) => c.valid && c.params.CallbackSource === "call-progress-events")).toBe(true);
    expect(cbs[3]!.params.Timestamp).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(cbs[3]!.params.CallDuration).toMatch(/^\d+$/);
  });

  it("updating a finished call fails with 21220; bad credentials with 20003; unknown sid with 20404", async () => {
    const c = await client.calls.create({
      to: "+15550000001",
      from: "+15550000002",
      twiml: "<Response><Hangup/></Response>",
    });
    await sim.call(c.sid)!.waitForEnd();
    await expect(client.calls(c.sid).update({ url: "https://example.com/x" })).rejects.toMatchObject({
      status: 400,
      code: 21220,
    });
    const bad = twilio(sim.accountSid, "wrong", { httpClient: simulatorHttpClient(sim.origin) });
    await expect(bad.calls(c.sid).fetch()).rejects.toMatchObject({ status: 401, code: 20003 });
    await expect(client.calls("CA00000000000000000000000000000000").fetch()).rejects.toMatchObject({
      status: 404,
      code: 20404,
    });
  });

  it("busy and no-answer outcomes end with the right status; Status=canceled cancels a ringing call", async () => {
    sim.queueOutcome({ result: "busy" });
    sim.queueOutcome({ result: "no-answer", ringMs: 50 });
    sim.queueOutcome({ ringMs: 5000 });
    const mk = () =>
      client.calls.create({
        to: "+15550000003",
        from: "+15550000004",
        url: `${rx.base()}/voice`,
        statusCallback: `${rx.base()}/status`,
      });
    const [busy, noAnswer, ringing] = [await mk(), await mk(), await mk()];
    expect(await sim.call(busy.sid)!.waitForEnd()).toBe("busy");
    expect(await sim.call(noAnswer.sid)!.waitForEnd()).toBe("no-answer");
    await sim.call(ringing.sid)!.waitForStatus("ringing");
    // The answer shows the call as it was when asked; the cancel follows, and a second one is 21220.
    const canceled = await client.calls(ringing.sid).update({ status: "canceled" });
    expect(canceled.status).toBe("ringing");
    expect(await sim.call(ringing.sid)!.waitForEnd()).toBe("canceled");
    expect((await client.calls(ringing.sid).fetch()).status).toBe("canceled");
    await expect(client.calls(ringing.sid).update({ status: "canceled" })).rejects.toMatchObject({
      status: 400,
      code: 21220,
    });
    const last = rx.got.find((g) => g.params.CallSid === busy.sid)!;
    expect(last.params).toMatchObject({ CallStatus: "busy", SequenceNumber: "0", CallDuration: "0" });
    const list = await client.calls.list({ status: "busy" });
    expect(list.map((c) => c.sid)).toContain(busy.sid);
  });

  it("sync AMD adds AnsweredBy to the Url request; async AMD posts its own callback", async () => {
    sim.queueOutcome({ answeredBy: "machine_end_beep", amdMs: 50 });
    const sync = await client.calls.create({
      to: "+15550000005",
      from: "+15550000006",
      url: `${rx.base()}/voice-sync`,
      machineDetection: "DetectMessageEnd",
    });
    sim.queueOutcome({ answeredBy: "human", amdMs: 50 });
    const async_ = await client.calls.create({
      to: "+15550000005",
      from: "+15550000006",
      twiml: '<Response><Pause length="1"/></Response>',
      machineDetection: "Enable",
      asyncAmd: "true",
      asyncAmdStatusCallback: `${rx.base()}/amd`,
    });
    await sim.call(sync.sid)!.waitForEnd();
    await sim.call(async_.sid)!.waitForEnd();
    const v = rx.got.find((g) => g.path === "/voice-sync")!;
    expect(v.params).toMatchObject({
      AnsweredBy: "machine_end_beep",
      CallStatus: "in-progress",
      Direction: "outbound-api",
    });
    const amd = rx.got.find((g) => g.path === "/amd")!;
    expect(amd.valid).toBe(true);
    expect(amd.params).toMatchObject({ CallSid: async_.sid, AnsweredBy: "human", MachineDetectionDuration: "50" });
    expect((await client.calls(async_.sid).fetch()).answeredBy).toBe("human");
  });
});
