import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import express from "express";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectBus, type Bus } from "@voicecall/bus";
import {
  CallEvent,
  CommandMessage,
  ControlMessage,
  LifecycleEvent,
  SayMessage,
  subjects,
  type CallMode,
} from "@voicecall/contracts";
import { loadScript } from "@voicecall/dialogue";
import { CallStore, connectRedis } from "@voicecall/store";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import { createApp, type AgentApp } from "./app";
import { BuiltinModel } from "./llm/builtin";
import { OpenAiModel } from "./llm/openai";
import type { LanguageModel } from "./llm/types";

/**
 * The agent against real NATS and Redis: claims, leases, takeover, recovery after a lost event and a
 * NATS restart, and the bus wiring of a few conversations. The test plays gateway, media and tts: it
 * publishes the bus messages they would and reads what the agent sends. The conversation's behaviour
 * case by case is in ../test/conversation.test.ts, through its ports (no NATS, no Redis).
 */
const script = loadScript();
let servers: Servers;
let bus: Bus;
let redis: Redis;
let store: CallStore;
const agents: { app: AgentApp; bus: Bus; redis: Redis }[] = [];

const baseConfig = {
  AGENT_LEASE_MS: 1500,
  AGENT_SCAN_MS: 200,
  SILENCE_REPROMPT_MS: 60_000,
  VOICEMAIL_MESSAGE: undefined as string | undefined,
  ACTION_MARK_TIMEOUT_MS: 30_000,
  // Tests play tts and mostly send no tts.first-chunk: no re-sends unless a test asks for them.
  SAY_RETRY_MS: 60_000,
};

beforeAll(async () => {
  servers = await startServers();
  const { log } = testLogger("test", "warn");
  bus = await connectBus({ url: servers.natsUrl, name: "test", log });
  redis = connectRedis(servers.redisUrl, log, "test");
  store = new CallStore(redis);
});

afterEach(async () => {
  for (const a of agents.splice(0)) {
    await a.app.stop(true);
    await a.bus.drain().catch(() => undefined);
    a.redis.disconnect();
  }
  // Leave nothing active for the next test's agent to pick up.
  for (const id of await store.activeCallIds()) await store.transition(id, "completed", "test");
});

afterAll(async () => {
  await bus?.drain();
  redis?.disconnect();
  await servers?.stop();
});

async function startAgent(
  o: { model?: LanguageModel; instanceId?: string; config?: Partial<typeof baseConfig> } = {},
): Promise<(typeof agents)[number]> {
  const instanceId = o.instanceId ?? `agent-${randomUUID().slice(0, 6)}`;
  const { log } = testLogger("agent", process.env.TEST_LOG_LEVEL ?? "warn");
  const abus = await connectBus({ url: servers.natsUrl, name: instanceId, log });
  const aredis = connectRedis(servers.redisUrl, log, instanceId);
  const app = createApp({
    config: { ...baseConfig, ...o.config },
    bus: abus,
    redis: aredis,
    store: new CallStore(aredis),
    model: o.model ?? new BuiltinModel(script),
    script,
    log,
    instanceId,
  });
  await app.start();
  const a = { app, bus: abus, redis: aredis };
  agents.push(a);
  return a;
}

/** Everything the agent published for one call, in order. */
function recorder(callId: string) {
  const says: SayMessage[] = [];
  const ctls: ControlMessage[] = [];
  const cmds: CommandMessage[] = [];
  const subs = [
    bus.subscribe(subjects.say(callId), SayMessage, (m) => void says.push(m)),
    bus.subscribe(subjects.ctl(callId), ControlMessage, (m) => void ctls.push(m)),
    bus.subscribe(subjects.cmd(callId), CommandMessage, (m) => void cmds.push(m)),
  ];
  const spoken = () => says.filter((s): s is Extract<SayMessage, { type: "say" }> => s.type === "say");
  return { says, ctls, cmds, spoken, close: () => subs.forEach((s) => s.unsubscribe()) };
}

async function newCall(
  mode: CallMode,
  extra: { greeting?: string; voicemailMessage?: string; engine?: "pipeline" | "realtime" } = {},
) {
  const callId = `c${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  await store.createCall({ callId, direction: "outbound", mode, from: "+14155550001", to: "+14155550002", ...extra });
  await store.transition(callId, "in-progress", "test");
  const rec = recorder(callId);
  await bus.flush();
  bus.publish(subjects.lifecycle, LifecycleEvent, {
    type: "call.created",
    callId,
    ts: Date.now(),
    direction: "outbound",
    mode,
    state: "queued",
  });
  await waitFor(() => store.leaseOwner("agent", callId), "agent claims the call");
  return { callId, rec };
}

type EvtIn = CallEvent extends infer E ? (E extends { type: string } ? Omit<E, "callId" | "ts" | "v"> : never) : never;
function evt(callId: string, e: EvtIn): void {
  bus.publish(subjects.evt(callId), CallEvent, { ...e, callId, ts: Date.now() } as CallEvent);
}

/** Media's part: a stream starts and media holds its lease. */
async function streamStarted(callId: string, streamSid = `MZ${randomUUID().slice(0, 8)}`): Promise<string> {
  await store.acquireLease("stream", callId, "media-test", 60_000);
  evt(callId, { type: "stream.started", streamSid, callSid: "CA1", worker: "media-test" });
  return streamSid;
}

/** Media's part for a caller final: recorded on the call, then published (same ts), like media does. */
async function final(callId: string, text: string, o: { publish?: boolean } = {}): Promise<void> {
  const ts = Date.now();
  await store.update(callId, { lastFinalTs: ts, lastFinalText: text });
  if (o.publish !== false)
    bus.publish(subjects.evt(callId), CallEvent, { type: "transcript.final", streamSid: "MZ", text, callId, ts });
}

const mark = (callId: string, utteranceId: string) =>
  evt(callId, { type: "playback.mark", streamSid: "MZ", utteranceId, done: true, playedMs: 1000 });

/** Barrier: events are handled in order, so once this operator line is said, all before it were handled. */
async function barrier(callId: string, rec: ReturnType<typeof recorder>): Promise<void> {
  const text = `barrier ${randomUUID().slice(0, 6)}`;
  evt(callId, { type: "operator.say", text });
  await waitFor(() => rec.spoken().some((s) => s.text === text), "barrier said");
}

const conv = (a: { app: AgentApp }, callId: string) => a.app.claims.conversation(callId)!;

describe("agent", () => {
  it("says the greeting on stream.started, again on a new stream without a mark, clears it once on the mark", async () => {
    await startAgent();
    const { callId, rec } = await newCall("conversation", { greeting: "Hello from the test." });
    await streamStarted(callId);
    const g1 = await waitFor(() => rec.spoken().find((s) => s.purpose === "greeting"), "first greeting");
    expect(g1.text).toBe("Hello from the test.");
    // The stream died before the greeting's end mark: a new stream plays it again.
    await streamStarted(callId);
    const g2 = await waitFor(() => rec.spoken().filter((s) => s.purpose === "greeting")[1], "greeting again");
    expect(g2.utteranceId).not.toBe(g1.utteranceId);
    expect((await store.getCall(callId))!.greetingPlayed).toBe(false);
    mark(callId, g2.utteranceId);
    await waitFor(async () => (await store.getCall(callId))!.greetingPlayed, "greetingPlayed");
    mark(callId, g1.utteranceId);
    await streamStarted(callId);
    await barrier(callId, rec);
    expect(rec.spoken().filter((s) => s.purpose === "greeting")).toHaveLength(2);
    const lines = (await store.transcript(callId)).filter((t) => t.text === "Hello from the test.");
    expect(lines).toHaveLength(1);
    expect(lines[0]!.utteranceId).toBe(g2.utteranceId);
  });

  it("adopts the greeting media plays from the pre-render (no say), counts it on its mark, says it on a new stream that has none", async () => {
    await startAgent();
    const { callId, rec } = await newCall("conversation", { greeting: "Hello from the ring." });
    await store.acquireLease("stream", callId, "media-test", 60_000);
    evt(callId, {
      type: "stream.started",
      streamSid: "MZ1",
      callSid: "CA1",
      worker: "media-test",
      greeting: "greeting-pre1",
    });
    await barrier(callId, rec);
    expect(rec.spoken().filter((s) => s.purpose === "greeting")).toEqual([]);
    // The stream died before its end mark, and the new one came without the pre-render: the agent says it.
    await streamStarted(callId);
    const g = await waitFor(() => rec.spoken().find((s) => s.purpose === "greeting"), "greeting said");
    expect(g.text).toBe("Hello from the ring.");
    mark(callId, "greeting-pre1");
    await waitFor(async () => (await store.getCall(callId))!.greetingPlayed, "greetingPlayed on the pre-render's mark");
    const lines = (await store.transcript(callId)).filter((t) => t.text === "Hello from the ring.");
    expect(lines.map((l) => l.utteranceId)).toEqual(["greeting-pre1"]);
  });

  it("answers transcript.final with say messages per sentence, and DTMF as input", async () => {
    await startAgent();
    const { callId, rec } = await newCall("conversation");
    await streamStarted(callId);
    evt(callId, { type: "transcript.final", streamSid: "MZ", text: "what are your opening hours" });
    const replies = await waitFor(
      () =>
        rec.spoken().filter((s) => s.purpose === "reply").length >= 2
          ? rec.spoken().filter((s) => s.purpose === "reply")
          : null,
      "two reply sentences",
    );
    expect(replies.map((r) => r.text)).toEqual([
      "We are open Monday to Friday from nine in the morning to six in the evening.",
      "Is there anything else?",
    ]);
    const gen = replies[0]!.generation;
    expect(gen).toBeGreaterThan(0);
    expect(rec.ctls).toContainEqual(expect.objectContaining({ type: "cancel", beforeGeneration: gen }));
    expect(rec.says).toContainEqual(expect.objectContaining({ type: "say.cancel", beforeGeneration: gen }));
    expect(replies.at(-1)!.endOfTurn).toBe(true);
    evt(callId, { type: "dtmf", streamSid: "MZ", digit: "2" });
    const booked = await waitFor(
      () => rec.spoken().find((s) => s.text.startsWith("The first free slot")),
      "dtmf answer",
    );
    expect(booked.generation).toBeGreaterThan(gen);
    const t = await store.transcript(callId);
    expect(t.find((e) => e.role === "caller")!.text).toBe("what are your opening hours");
  });

  it("a second instance takes over when the first dies without releasing its lease", async () => {
    const a = await startAgent({ instanceId: "agent-A" });
    const { callId, rec } = await newCall("conversation", { greeting: "Takeover greeting." });
    await streamStarted(callId);
    await waitFor(() => rec.spoken().find((s) => s.purpose === "greeting"), "greeting from A");
    evt(callId, { type: "transcript.final", streamSid: "MZ", text: "when are you open" });
    await waitFor(() => rec.spoken().find((s) => s.purpose === "reply"), "reply from A");
    // A crashes: no release, its NATS connection just goes away.
    await a.app.stop(false);
    await a.bus.nc.close();
    agents.splice(agents.indexOf(a), 1);
    a.redis.disconnect();
    expect(await store.leaseOwner("agent", callId)).toBe("agent-A");
    const b = await startAgent({ instanceId: "agent-B" });
    await waitFor(async () => (await store.leaseOwner("agent", callId)) === "agent-B", "B owns the call", 10_000);
    // The greeting never got its mark: B plays it again on the live stream.
    const g = await waitFor(() => rec.spoken().filter((s) => s.purpose === "greeting")[1], "greeting from B");
    mark(callId, g.utteranceId);
    await waitFor(async () => (await store.getCall(callId))!.greetingPlayed, "greetingPlayed");
    evt(callId, { type: "transcript.final", streamSid: "MZ", text: "i would like to book an appointment" });
    await waitFor(() => rec.spoken().find((s) => s.text.startsWith("Sure.")), "reply from B");
    expect(conv(b, callId).messages.map((m) => m.role)).toContain("user");
    expect((await store.getCall(callId))!.agentOwner).toBe("agent-B");
  });

  it("with an OpenAI-compatible model: reasoning is not spoken, send_digits reaches media", async () => {
    const http = express();
    http.use(express.json());
    const bodies: any[] = [];
    http.post("/v1/chat/completions", (req, res) => {
      bodies.push(req.body);
      res.setHeader("content-type", "text/event-stream");
      const c = (delta: object) => res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}\n\n`);
      c({ content: "<think>The menu wants 1.</think>" });
      c({ content: "Okay, **pressing** one. " });
      c({
        tool_calls: [
          { index: 0, id: "t1", type: "function", function: { name: "send_digits", arguments: '{"digits":' } },
        ],
      });
      c({ tool_calls: [{ index: 0, function: { arguments: '"1"}' } }] });
      res.end("data: [DONE]\n\n");
    });
    const server = http.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    try {
      const model = new OpenAiModel({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        model: "m",
      });
      await startAgent({ model });
      const { callId, rec } = await newCall("conversation", { greeting: "Hi." });
      await streamStarted(callId);
      evt(callId, { type: "transcript.final", streamSid: "MZ", text: "for sales press one" });
      const digits = await waitFor(() => rec.ctls.find((c) => c.type === "send-digits"), "send-digits");
      expect(digits).toMatchObject({ type: "send-digits", digits: "1" });
      expect(
        rec
          .spoken()
          .filter((s) => s.purpose === "reply")
          .map((s) => s.text),
      ).toEqual(["Okay, pressing one."]);
      expect(bodies[0].messages[0].role).toBe("system");
      expect(bodies[0].messages.at(-1)).toEqual({ role: "user", content: "for sales press one" });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  describe("turns in flight during a fault", () => {
    const HOURS = "We are open Monday to Friday from nine in the morning to six in the evening.";
    const replies = (rec: ReturnType<typeof recorder>) => rec.spoken().filter((s) => s.purpose === "reply");

    it("a caller line published while no agent followed the call is answered by the next owner, once", async () => {
      const a = await startAgent({ instanceId: "agent-A" });
      const { callId, rec } = await newCall("conversation", { greeting: "Hi." });
      await streamStarted(callId);
      mark(callId, (await waitFor(() => rec.spoken().find((s) => s.purpose === "greeting"), "greeting")).utteranceId);
      await waitFor(async () => (await store.getCall(callId))!.greetingPlayed, "greetingPlayed");
      // A deploy: A hands the call back; the caller's question is published while nobody listens.
      await a.app.stop(true);
      await final(callId, "what are your opening hours");
      await bus.flush();
      expect(replies(rec)).toEqual([]);
      const b = await startAgent({ instanceId: "agent-B" });
      await waitFor(() => replies(rec).find((s) => s.text === HOURS), "B answers the lost question", 10_000);
      const callerLines = (await store.transcript(callId)).filter((t) => t.role === "caller");
      expect(callerLines.map((t) => t.text)).toEqual(["what are your opening hours"]);
      // Answered: a third owner (the reply still playing, no agent line yet) does not answer it again.
      await b.app.stop(true);
      const c = await startAgent({ instanceId: "agent-C" });
      await waitFor(async () => (await store.leaseOwner("agent", callId)) === "agent-C", "C owns the call", 10_000);
      await waitFor(() => conv(c, callId), "C follows the call");
      await barrier(callId, rec);
      expect(replies(rec).filter((s) => s.text === HOURS)).toHaveLength(1);
      expect((await store.transcript(callId)).filter((t) => t.role === "caller")).toHaveLength(1);
    });

    it("after NATS comes back, a caller line published while it was down is answered", async () => {
      // Re-sends: the reply may go out before this test's own subscriptions are back on the new server.
      await startAgent({ config: { SAY_RETRY_MS: 500 } });
      const { callId, rec } = await newCall("conversation", { greeting: "Hi." });
      await streamStarted(callId);
      mark(callId, (await waitFor(() => rec.spoken().find((s) => s.purpose === "greeting"), "greeting")).utteranceId);
      await waitFor(async () => (await store.getCall(callId))!.greetingPlayed, "greetingPlayed");
      const restarted = servers.restartNats();
      // Media recorded the final; its event died with the server.
      await final(callId, "what are your opening hours", { publish: false });
      await restarted;
      await waitFor(
        async () => (await store.transcript(callId)).some((t) => t.role === "caller"),
        "caller line answered after reconnect",
        20_000,
      );
      await waitFor(() => replies(rec).find((s) => s.text === HOURS), "answer after reconnect", 20_000);
    });
  });
});
