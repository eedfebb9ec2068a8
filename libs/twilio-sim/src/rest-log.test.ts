import { afterAll, beforeAll, describe, expect, it } from "vitest";
import twilio from "twilio";
import { startSimulator, type Simulator } from "./simulator";
import { simulatorHttpClient } from "./http-client";

describe("what a test reads and sets on the simulator's REST side", () => {
  let sim: Simulator;
  let client: twilio.Twilio;
  beforeAll(async () => {
    // Calls ring for an hour and webhooks go nowhere: the test alone moves them on.
    sim = await startSimulator({ defaultOutcome: { ringMs: 3_600_000 }, route: () => new URL("http://127.0.0.1:9/") });
    client = twilio(sim.accountSid, sim.authToken, { httpClient: simulatorHttpClient(sim.origin) });
  });
  afterAll(() => sim.stop());

  it("records every request with its form, repeated fields and refused requests included", async () => {
    sim.restRequests.length = 0;
    const c = await client.calls.create({
      to: "+14155550123",
      from: "+14155550100",
      url: "https://voice.example.test/voice/webhook",
      statusCallbackEvent: ["initiated", "answered"],
    });
    await client.calls(c.sid).update({ twiml: "<Response><Dial>+14155550999</Dial></Response>" });
    const denied = await fetch(`${sim.origin}/2010-04-01/Accounts/${sim.accountSid}/Calls.json`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "To=%2B1",
    });
    expect(denied.status).toBe(401);
    expect(sim.restRequests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /2010-04-01/Accounts/${sim.accountSid}/Calls.json`,
      `POST /2010-04-01/Accounts/${sim.accountSid}/Calls/${c.sid}.json`,
      `POST /2010-04-01/Accounts/${sim.accountSid}/Calls.json`,
    ]);
    const [create, update, refused] = sim.restRequests;
    expect(create!.form.get("To")).toBe("+14155550123");
    expect(create!.form.getAll("StatusCallbackEvent")).toEqual(["initiated", "answered"]);
    expect(update!.form.get("Twiml")).toContain("<Dial>+14155550999</Dial>");
    expect(refused!.form.get("To")).toBe("+1");
  });

  it("setStatus answers or ends a call, and the REST API reports it", async () => {
    const a = await client.calls.create({
      to: "+14155550123",
      from: "+14155550100",
      url: "https://voice.example.test/voice/webhook",
    });
    const b = await client.calls.create({
      to: "+14155550124",
      from: "+14155550100",
      url: "https://voice.example.test/voice/webhook",
    });
    await sim.call(a.sid)!.setStatus("in-progress");
    await sim.call(b.sid)!.setStatus("busy");
    expect((await client.calls(a.sid).fetch()).status).toBe("in-progress");
    expect((await client.calls(b.sid).fetch()).status).toBe("busy");
    await sim.call(a.sid)!.setStatus("completed");
    expect((await client.calls(a.sid).fetch()).status).toBe("completed");
  });

  it("refuses a call to Twilio's magic invalid number with its error, and dials none", async () => {
    const before = sim.calls().length;
    const err = await client.calls
      .create({ to: "+15005550001", from: "+14155550100", url: "https://voice.example.test/voice/webhook" })
      .catch((e: { status: number; code: number }) => e);
    expect(err).toMatchObject({ status: 400, code: 21217 });
    expect(sim.calls()).toHaveLength(before);
  });
});
