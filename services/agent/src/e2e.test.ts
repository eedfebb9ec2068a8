/**
 * The seed's scenario end to end, offline: the whole stack (gateway, media, tts, agent as processes,
 * real NATS/Redis/Caddy) and the Twilio simulator as the far end.
 */
import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallStore, connectRedis } from "@voicecall/store";
import {
  generateSecrets,
  startServers,
  startStack,
  testLogger,
  waitFor,
  type Stack,
  type StackOptions,
} from "@voicecall/testkit";
import { startSimulator, type Simulator } from "@voicecall/twilio-sim";
import type { Redis } from "ioredis";

let stack: Stack;
let sim: Simulator;
let redis: Redis;
let store: CallStore;

function api(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      stack.origin + path,
      {
        method: "POST",
        ca: stack.ca,
        headers: { authorization: `Bearer ${stack.secrets.API_TOKEN}`, "content-type": "application/json" },
      },
      (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: b ? JSON.parse(b) : {} }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  const secrets = generateSecrets();
  const opts: StackOptions = {
    secrets,
    env: {
      LOG_LEVEL: "info",
      TWILIO_SKIP_SIGNATURE: "false",
      SILENCE_REPROMPT_MS: "60000",
      AGENT_LEASE_MS: "2000",
      AGENT_SCAN_MS: "300",
    },
    stopGraceMs: 5000,
    onLine: process.env.E2E_ECHO ? (i, l) => process.stderr.write(`[${i}] ${l}\n`) : undefined,
    startServers: async (routes) => {
      const s = await startServers({ caddy: { routes } });
      sim = await startSimulator({
        accountSid: secrets.TWILIO_ACCOUNT_SID,
        authToken: secrets.TWILIO_AUTH_TOKEN,
        ca: s.caddy!.ca,
      });
      opts.twilioApiBaseUrl = sim.origin;
      return s;
    },
  };
  stack = await startStack(opts);
  const { log } = testLogger("test", "warn");
  redis = connectRedis(stack.servers.redisUrl, log, "e2e");
  store = new CallStore(redis);
}, 120_000);

afterAll(async () => {
  // E2E_REPORT=1: print the measured turns (media: caller's end of speech → first reply audio out).
  if (process.env.E2E_REPORT && store) console.log(JSON.stringify(await store.turns(0)));
  redis?.disconnect();
  await sim?.stop();
  await stack?.stop();
});

describe("agent end to end", () => {
  it("outbound conversation: greeting heard, caller speaks, reply heard, end_call → completed", async () => {
    const r = await api("/api/calls", {
      to: "+14155550123",
      mode: "conversation",
      greeting: "Hello, this is Acme Dental. How can I help?",
    });
    expect(r.status).toBeLessThan(300);
    const callId = r.json.callId as string;
    const phone = await sim.nextCall();
    await phone.waitForStream(1, 20_000);
    await waitFor(async () => (await store.getCall(callId))?.greetingPlayed, "greeting played", 30_000);
    // The greeting (a few seconds of speech) reached the caller's ear, not just our bookkeeping.
    expect(phone.heard().ms).toBeGreaterThan(1500);
    await phone.say("what are your opening hours");
    const spokeEnd = phone.call.recorder.now();
    await waitFor(
      async () => (await store.transcript(callId)).some((t) => t.role === "agent" && /Monday to Friday/.test(t.text)),
      "hours reply heard",
      30_000,
    );
    // E2E_REPORT=1: caller's last frame sent → first reply audio heard (VAD hang + STT + agent + tts + media).
    const replyAt = phone.heard().segments.find((g) => g.atMs >= spokeEnd)?.atMs;
    if (process.env.E2E_REPORT)
      console.log(JSON.stringify({ replyLatencyMs: replyAt === undefined ? null : Math.round(replyAt - spokeEnd) }));
    await phone.say("goodbye");
    expect(await phone.waitForEnd(30_000)).toBe("completed");
    await waitFor(async () => (await store.getCall(callId))?.state === "completed", "state completed", 10_000);
  });

  it("stream killed during the greeting: it plays again on the new stream and completes once", async () => {
    const greeting = "Hello, this is Acme Dental calling about your appointment.";
    const r = await api("/api/calls", { to: "+14155550124", mode: "conversation", greeting });
    const callId = r.json.callId as string;
    const phone = await sim.nextCall();
    await phone.waitForStream(1, 20_000);
    await phone.waitForAudio(400, 20_000);
    expect((await store.getCall(callId))?.greetingPlayed).toBe(false);
    phone.call.streams.current!.drop();
    await phone.waitForStream(2, 20_000);
    await waitFor(
      async () => (await store.getCall(callId))?.greetingPlayed,
      "greeting played on the second stream",
      30_000,
    );
    const lines = (await store.transcript(callId)).filter((t) => t.text === greeting);
    expect(lines).toHaveLength(1);
    await phone.hangup();
  });

  it("agent process killed mid-call: the agent that comes back after the lease lapses continues the call", async () => {
    const r = await api("/api/calls", { to: "+14155550125", mode: "conversation", greeting: "Hello from Acme." });
    const callId = r.json.callId as string;
    const phone = await sim.nextCall();
    await waitFor(async () => (await store.getCall(callId))?.greetingPlayed, "greeting played", 30_000);
    const agent = stack.get("agent");
    await agent.kill9();
    await agent.restart();
    // The new process finds the call once the dead one's lease lapsed (its startup scan or a later one).
    await waitFor(
      () =>
        agent
          .logs()
          .split("\n")
          .some((l) => l.includes('"msg":"call claimed"') && l.includes(callId) && l.includes('"reason":"scan"')),
      "call claimed again",
      20_000,
    );
    await phone.say("when are you open");
    await waitFor(
      async () => (await store.transcript(callId)).some((t) => t.role === "agent" && /Monday to Friday/.test(t.text)),
      "reply after takeover",
      30_000,
    );
    await phone.hangup();
  });

  it("notify mode: the message is heard, then the call is hung up", async () => {
    const r = await api("/api/calls", { to: "+14155550126", mode: "notify", greeting: "Your parcel arrives today." });
    const callId = r.json.callId as string;
    const phone = await sim.nextCall();
    expect(await phone.waitForEnd(30_000)).toBe("completed");
    const rec = await store.getCall(callId);
    expect(rec?.greetingPlayed).toBe(true);
    // Hung up after the message's last mark was echoed, never before.
    const marks = phone.heard().marks.filter((m) => m.echoedAtMs !== undefined);
    expect(marks.length).toBeGreaterThan(0);
    expect(phone.heard().ms).toBeGreaterThan(1000);
  });

  it("answering machine: leaves the voicemail, then hangs up", async () => {
    sim.queueOutcome({ answeredBy: "machine_end_beep", amdMs: 300 });
    const r = await api("/api/calls", {
      to: "+14155550127",
      mode: "conversation",
      machineDetection: "DetectMessageEnd",
      voicemailMessage: "Please call Acme back.",
    });
    const callId = r.json.callId as string;
    const phone = await sim.nextCall();
    expect(await phone.waitForEnd(30_000)).toBe("completed");
    const t = await store.transcript(callId);
    expect(t.some((e) => e.role === "agent" && e.text === "Please call Acme back.")).toBe(true);
  });

  it("transfer: the caller asks for a person, the gateway updates the call with <Dial>", async () => {
    const r = await api("/api/calls", { to: "+14155550128", mode: "conversation", greeting: "Hi." });
    const callId = r.json.callId as string;
    const phone = await sim.nextCall();
    await waitFor(async () => (await store.getCall(callId))?.greetingPlayed, "greeting played", 30_000);
    await phone.say("i want to talk to a person");
    await waitFor(() => phone.transfers.length > 0, "transfer", 30_000);
    expect(phone.transfers[0]!.value).toContain("+14155550100");
    await phone.hangup();
  });

  it("barge-in mid-answer: only the heard part of the answer is kept", async () => {
    const r = await api("/api/calls", { to: "+14155550129", mode: "conversation", greeting: "Hi." });
    const callId = r.json.callId as string;
    const phone = await sim.nextCall();
    await waitFor(async () => (await store.getCall(callId))?.greetingPlayed, "greeting played", 30_000);
    const before = phone.heard().ms;
    await phone.say("when are you open");
    await phone.waitForAudio(before + 1200, 20_000);
    await phone.say("book an appointment");
    await waitFor(
      async () => (await store.transcript(callId)).some((t) => t.role === "agent" && t.text.startsWith("Sure.")),
      "next answer",
      30_000,
    );
    const cut = (await store.transcript(callId)).find((t) => t.interrupted);
    const full = "We are open Monday to Friday from nine in the morning to six in the evening.";
    expect(cut?.role).toBe("agent");
    expect(full.startsWith(cut!.text)).toBe(true);
    expect(cut!.text.length).toBeLessThan(full.length);
    await phone.hangup();
  });
});
