import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { waitFor } from "@voicecall/testkit";
import { CommandMessage, SayMessage, subjects, type CallRecord } from "@voicecall/contracts";
import { sid, startHarness, type Harness } from "@voicecall/media/testing";
import { FakeRealtimeServer, modelAudio } from "./fake-realtime-server";

const KEY = "sk-realtime-test-key-0123456789";

// Media workers behind Caddy TLS, real NATS and Redis, a Twilio Media Streams client, and a local server
// speaking the OpenAI Realtime protocol: the realtime engine end to end inside media.
describe("media: realtime engine", () => {
  let h: Harness;
  let fake: FakeRealtimeServer;
  const cmds: CommandMessage[] = [];
  beforeAll(async () => {
    fake = await FakeRealtimeServer.start({ apiKey: KEY });
    h = await startHarness(2, {
      REALTIME_URL: fake.url,
      REALTIME_API_KEY: KEY,
      REALTIME_SILENCE_REPROMPT_MS: "0",
      REALTIME_ACTION_TIMEOUT_MS: "4000",
    });
    h.bus.subscribe(subjects.allCmd, CommandMessage, (m) => void cmds.push(m));
    await h.bus.flush();
  });
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  const newCall = async (o: Partial<CallRecord> = {}) => {
    const callId = `c${randomUUID().replace(/-/g, "").slice(0, 16)}`;
    const callSid = sid("CA");
    await h.store.createCall({
      callId,
      callSid,
      direction: "outbound",
      mode: "conversation",
      engine: "realtime",
      from: "+14155550100",
      to: "+14155550101",
      state: "in-progress",
      ...o,
    });
    return { callId, callSid };
  };
  const sessionsBefore = () => fake.sessions.length;
  const live = async (o: Partial<CallRecord> = {}, autoTick = true) => {
    const n = sessionsBefore();
    const call = await newCall(o);
    const c = h.client(call, { autoTick });
    await waitFor(
      () => fake.sessions.length > n && fake.sessions.at(-1)!.config.instructions,
      "realtime session configured",
      30_000,
    );
    return { call, c, s: fake.sessions.at(-1)! };
  };
  const transcript = (callId: string) => h.store.transcript(callId);
  const cmdsOf = (callId: string) => cmds.filter((m) => m.callId === callId);

  it("the greeting is spoken on pick-up by the model, byte for byte, and counts as played only when its last mark echoes", async () => {
    const { call, c, s } = await live({ greeting: "Hello from the test line." }, false);
    await waitFor(() => s.responses[0]?.status === "completed", "greeting generated");
    expect(s.responses[0]!.instructions).toContain('"Hello from the test line."');
    expect(s.responses[0]!.metadata).toEqual({ vc: "greeting" });
    await waitFor(() => c.received.some((m) => m.event === "media"), "greeting audio sent");
    // Nothing echoed yet (the phone has not played it): not played.
    expect((await h.store.getCall(call.callId))!.greetingPlayed).toBe(false);
    expect(await transcript(call.callId)).toEqual([]);
    const t = setInterval(() => c.tick(), 20);
    try {
      await waitFor(async () => (await h.store.getCall(call.callId))!.greetingPlayed, "greetingPlayed", 30_000);
    } finally {
      clearInterval(t);
    }
    expect(Buffer.from(c.heard)).toEqual(Buffer.from(s.sentAudio[0]!));
    expect(await transcript(call.callId)).toMatchObject([{ role: "agent", text: "Hello from the test line." }]);
    expect(h.of(call.callId, "transcript.agent")).toMatchObject([{ text: "Hello from the test line." }]);
  });

  it("barge-in: speech_started → clear at once; the item is truncated to what the caller heard; the heard words land in the transcript", async () => {
    const { call, c, s } = await live();
    const words = "one two three four five six seven eight nine ten eleven twelve";
    fake.callerLines.push("tell me a long story");
    fake.onUserTurn = () => ({ say: words, ms: 6000 });
    c.say(400);
    await waitFor(() => c.played >= 8 * 1500, "1.5 s of the answer played", 20_000);
    c.say(600);
    const cut = await waitFor(() => h.of(call.callId, "interrupted")[0], "interrupted");
    expect(c.clears.length).toBe(1);
    expect(cut.totalMs).toBeLessThanOrEqual(6000);
    // The caller heard c.clears[0] bytes of the answer. The playout estimates the caller's playhead from
    // its send clock and the echoed marks (wall-clock pacing): within one word, ±100 ms, as the pipeline's.
    expect(Math.abs(cut.playedMs - c.clears[0]! / 8)).toBeLessThanOrEqual(100);
    await waitFor(() => s.truncates.length === 1, "truncate sent");
    expect(s.truncates[0]).toEqual({ item_id: cut.utteranceId, audio_end_ms: Math.floor(cut.playedMs) });
    const lines = await waitFor(async () => {
      const t = await transcript(call.callId);
      return t.some((l) => l.role === "agent") ? t : undefined;
    }, "cut line");
    expect(lines[0]).toMatchObject({ role: "caller", text: "tell me a long story" });
    const agent = lines.find((l) => l.role === "agent")!;
    expect(agent.interrupted).toBe(true);
    expect(words.startsWith(agent.text)).toBe(true);
    expect(agent.text.split(" ").length).toBeLessThan(12);
    expect(h.of(call.callId, "transcript.final").map((e) => e.text)).toContain("tell me a long story");
  });

  it("end_call is a function call: the goodbye is heard (its mark echoes) before the hang-up command", async () => {
    const { call, c } = await live();
    fake.onUserTurn = () => ({ say: "Goodbye now.", tool: { name: "end_call", args: { reason: "caller done" } } });
    c.say(400);
    const hang = await waitFor(() => cmdsOf(call.callId).find((m) => m.type === "hangup"), "hangup", 30_000);
    expect(hang).toMatchObject({ reason: "agent:caller done" });
    const done = h.of(call.callId, "playback.mark").find((e) => e.done);
    expect(done).toBeDefined();
    expect(done!.ts).toBeLessThanOrEqual(hang.ts);
    expect(await transcript(call.callId)).toContainEqual(
      expect.objectContaining({ role: "agent", text: "Goodbye now." }),
    );
  });

  it("transfer_call and send_digits are function calls; DTMF reaches the model as text", async () => {
    const { call, c, s } = await live();
    fake.onUserTurn = (text) =>
      text.includes("pressed key 5")
        ? { say: "Pressing one two.", tool: { name: "send_digits", args: { digits: "12" } } }
        : { say: "Transferring you.", tool: { name: "transfer_call", args: { to: "+14155550199" } } };
    fake.onToolOutput = () => ({ say: "Done." });
    c.dtmf("5");
    await waitFor(
      () => h.of(call.callId, "playback.mark").find((e) => e.done && e.utteranceId.startsWith("digits-")),
      "digits played",
      30_000,
    );
    expect(s.items.find((i) => i.type === "function_call_output")).toMatchObject({
      output: JSON.stringify({ ok: true, sent: "12" }),
    });
    expect(s.items.some((i) => i.role === "user" && i.content?.[0]?.text === "The caller pressed key 5.")).toBe(true);
    expect(await transcript(call.callId)).toContainEqual(
      expect.objectContaining({ role: "caller", text: "The caller pressed key 5." }),
    );
    c.say(400);
    const tr = await waitFor(() => cmdsOf(call.callId).find((m) => m.type === "transfer"), "transfer", 30_000);
    expect(tr).toMatchObject({ to: "+14155550199" });
    expect(await transcript(call.callId)).toContainEqual(
      expect.objectContaining({ role: "system", text: "transferred to +14155550199" }),
    );
  });

  it("a disconnect mid-response: one reconnect, carrying the conversation, and the answer is asked for again", async () => {
    const { call, c, s } = await live();
    fake.callerLines.push("what are your hours");
    fake.onUserTurn = () => ({ say: "We open at nine.", ms: 3000 });
    s.fault = { disconnectAfterDeltas: 2 };
    const n = fake.sessions.length;
    c.say(400);
    await waitFor(
      () => fake.sessions.length === n + 1 && fake.last!.responses.length > 0,
      "reconnected and answering",
      30_000,
    );
    expect(h.of(call.callId, "realtime.error")).toMatchObject([{ code: "close_1006", action: "reconnect" }]);
    const again = fake.last!;
    await waitFor(
      () => h.of(call.callId, "transcript.agent").find((e) => e.text === "We open at nine."),
      "answer heard",
      30_000,
    );
    expect(again.items.filter((i) => i.type === "message").map((i) => [i.role, i.content?.[0]?.text])).toContainEqual([
      "user",
      "what are your hours",
    ]);
    expect(cmdsOf(call.callId)).toEqual([]);
  });

  it("a rate-limited (failed) response counts as the vendor failing: logged with its code, one reconnect, answered there", async () => {
    const { call, c, s } = await live();
    fake.onUserTurn = () => ({ say: "Sure.", ms: 600 });
    s.fault = { failNextResponse: "rate_limit_exceeded" };
    const n = fake.sessions.length;
    c.say(400);
    await waitFor(() => h.of(call.callId, "realtime.error")[0], "realtime.error", 30_000);
    expect(h.of(call.callId, "realtime.error")).toMatchObject([{ code: "rate_limit_exceeded", action: "reconnect" }]);
    await waitFor(() => fake.sessions.length === n + 1, "reconnected", 30_000);
    await waitFor(
      () => h.of(call.callId, "transcript.agent").find((e) => e.text === "Sure."),
      "answered on the new session",
      30_000,
    );
    expect(h.workers.map((w) => w.logs.text()).join("\n")).toContain("rate_limit_exceeded");
  });

  it("a non-fatal vendor error event is logged and published as ignored: same session, the call goes on", async () => {
    const { call, c, s } = await live();
    const n = fake.sessions.length;
    s.send({
      type: "error",
      error: { type: "invalid_request_error", code: "invalid_value", message: "something was off" },
    });
    await waitFor(() => h.of(call.callId, "realtime.error")[0], "realtime.error");
    expect(h.of(call.callId, "realtime.error")).toMatchObject([{ code: "invalid_value", action: "ignored" }]);
    fake.onUserTurn = () => ({ say: "Still here." });
    c.say(400);
    await waitFor(
      () => h.of(call.callId, "transcript.agent").find((e) => e.text === "Still here."),
      "answered on the same session",
      30_000,
    );
    expect(fake.sessions.length).toBe(n);
    expect(cmdsOf(call.callId)).toEqual([]);
  });

  it("the model gone for good: a short apology in the local voice (tts), heard, then a clean hang-up; the key is never logged", async () => {
    const { call, s } = await live();
    const says: SayMessage[] = [];
    h.bus.subscribe(subjects.say(call.callId), SayMessage, (m) => {
      says.push(m);
      // Play tts's part: render the line and send it on the call's audio subject.
      if (m.type === "say")
        h.speak(call.callId, m.utteranceId, modelAudio(600), {
          chunks: 3,
          generation: m.generation,
          purpose: m.purpose,
        });
    });
    await h.bus.flush();
    fake.refuse = 5;
    s.terminate();
    const hang = await waitFor(() => cmdsOf(call.callId).find((m) => m.type === "hangup"), "hangup", 30_000);
    expect(hang).toMatchObject({ reason: "realtime-unavailable" });
    expect(says).toMatchObject([{ type: "say", text: h.config.REALTIME_APOLOGY, purpose: "operator" }]);
    const played = h
      .of(call.callId, "playback.mark")
      .find((e) => e.done && e.utteranceId === (says[0] as { utteranceId: string }).utteranceId);
    expect(played && played.ts <= hang.ts).toBe(true);
    expect(h.of(call.callId, "realtime.error").map((e) => [e.code, e.action])).toEqual([
      ["close_1006", "reconnect"],
      ["http_503", "apology"],
    ]);
    fake.refuse = 0;
    const logs = h.workers.map((w) => w.logs.text()).join("\n");
    expect(logs).toContain("http_503");
    expect(logs).not.toContain(KEY);
    expect(logs).not.toContain(Buffer.from(KEY).toString("base64"));
  });

  it("failover: a new stream opens a new session with the conversation so far; an unheard greeting plays again there", async () => {
    const { call, c, s } = await live({ greeting: "Welcome back." }, false);
    await waitFor(() => s.responses[0]?.status === "completed", "greeting generated");
    c.close(); // the stream dies before the greeting was heard
    await h.store.appendTranscript(call.callId, { role: "caller", text: "my order is 42", ts: Date.now() });
    const n = fake.sessions.length;
    const c2 = h.client(call, { customParameters: { callId: call.callId, token: h.token(call.callId, call.callSid) } });
    await waitFor(
      () => fake.sessions.length === n + 1 && fake.last!.responses.length > 0,
      "new session greeting",
      30_000,
    );
    const s2 = fake.last!;
    expect(
      s2.items.filter((i) => i.content?.[0]?.text !== undefined).map((i) => [i.role, i.content?.[0]?.text]),
    ).toEqual([["user", "my order is 42"]]);
    expect(s2.responses[0]!.metadata).toEqual({ vc: "greeting" });
    await waitFor(
      async () => (await h.store.getCall(call.callId))!.greetingPlayed,
      "greeting played on the new stream",
      30_000,
    );
    expect(c2.played).toBeGreaterThan(0);
    // Caddy's round robin sent the second stream to the other worker: each worker opened one session for this call.
    const opened = h.workers.map(
      (w) => w.logs.lines.filter((l) => l.msg === "realtime session open" && l.callId === call.callId).length,
    );
    expect(opened).toEqual([1, 1]);
  });

  it("notify mode: the message, heard, then hang-up; the model never answers on its own and has no tools", async () => {
    const { call, s } = await live({ mode: "notify", greeting: "Your parcel arrives today." });
    const hang = await waitFor(() => cmdsOf(call.callId).find((m) => m.type === "hangup"), "hangup", 30_000);
    expect(hang).toMatchObject({ reason: "notify-complete" });
    expect(s.config.audio.input.turn_detection).toMatchObject({ create_response: false, interrupt_response: false });
    expect(s.config.tools).toEqual([]);
    expect((await h.store.getCall(call.callId))!.greetingPlayed).toBe(true);
  });

  it("a pipeline call opens no realtime session", async () => {
    const n = fake.sessions.length;
    const call = await h.newCall();
    h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "stream.started");
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.sessions.length).toBe(n);
  });
});

describe("media: realtime engine, caller silence", () => {
  let h: Harness;
  let fake: FakeRealtimeServer;
  beforeAll(async () => {
    fake = await FakeRealtimeServer.start();
    h = await startHarness(1, { REALTIME_URL: fake.url, REALTIME_SILENCE_REPROMPT_MS: "700" });
  });
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  it("silence → a re-prompt; silence again → a goodbye, heard, then hang-up", async () => {
    const cmds: CommandMessage[] = [];
    const callId = `c${randomUUID().replace(/-/g, "").slice(0, 16)}`;
    const callSid = sid("CA");
    h.bus.subscribe(subjects.cmd(callId), CommandMessage, (m) => void cmds.push(m));
    await h.bus.flush();
    await h.store.createCall({
      callId,
      callSid,
      direction: "outbound",
      mode: "conversation",
      engine: "realtime",
      from: "+14155550100",
      to: "+14155550101",
      state: "in-progress",
    });
    h.client({ callId, callSid });
    const hang = await waitFor(() => cmds.find((m) => m.type === "hangup"), "hangup", 20_000);
    expect(hang).toMatchObject({ reason: "caller-silent" });
    const r = fake.last!.responses;
    expect(r.map((x) => x.metadata?.vc?.slice(0, 4))).toEqual(["prom", "bye-"]);
    const done = h.of(callId, "playback.mark").filter((e) => e.done);
    expect(done).toHaveLength(2);
    expect(done[1]!.ts).toBeLessThanOrEqual(hang.ts);
  });
});
