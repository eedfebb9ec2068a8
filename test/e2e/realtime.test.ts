import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnvFor, startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import type { TranscriptEntry } from "@voicecall/contracts";
import { Ctx, cliConfig, runCli } from "@voicecall/cli";
import { FakeRealtimeServer } from "../realtime/fake-realtime-server";

/**
 * The realtime engine through the whole stack: API (`engine: realtime`) → Twilio simulator dials →
 * signed webhook → wss stream through Caddy → media bridges it to a local server speaking the Realtime
 * protocol → greeting heard → the caller speaks (synthesised voice) → the model answers → the model
 * ends the call with its `end_call` tool → completed, transcript in Redis, in `GET /api/calls/:id`, and in
 * `voicecall tail` (live) and `voicecall show`. A call nobody ends stops at Twilio's `TimeLimit`
 * (`MAX_DURATION_SECONDS`, set short here) and its model session is closed with it.
 */
const KEY = "sk-e2e-realtime-key-0123456789";
/** Long enough for the first call's greeting and two turns, short enough to wait out in the second. */
const MAX_DURATION_S = 35;
let v: VoiceStack;
let fake: FakeRealtimeServer;

beforeAll(async () => {
  fake = await FakeRealtimeServer.start({ apiKey: KEY });
  v = await startVoiceStack({
    mediaReplicas: 1,
    serviceEnv: {
      gateway: { MAX_DURATION_SECONDS: String(MAX_DURATION_S) },
      media: { REALTIME_URL: fake.url, REALTIME_API_KEY: KEY, REALTIME_SILENCE_REPROMPT_MS: "0" },
    },
  });
}, 120_000);
afterAll(async () => {
  await v?.stop();
  await fake?.close();
});

/** `voicecall <argv>` against the stack, in-process; `out` has its stdout lines. */
function cli(...argv: string[]) {
  const out: string[] = [];
  const ac = new AbortController();
  const ctx = new Ctx(
    cliConfig(cliEnvFor(v.stack)),
    (l) => out.push(l),
    (l) => out.push(l),
    ac.signal,
  );
  const done = runCli(ctx, argv).finally(() => ctx.close());
  return { out, ac, done };
}

describe("outbound realtime call", () => {
  it("greets with the model's voice, answers, and the model hangs up with end_call", async () => {
    fake.callerLines.push("what are your hours", "that is all thanks");
    fake.onUserTurn = (text) =>
      /that is all/.test(text)
        ? { say: "Goodbye.", tool: { name: "end_call", args: { reason: "caller done" } } }
        : { say: "We open at nine." };
    const created = await v.api<{ callId: string }>("POST", "/api/calls", {
      to: "+14155550123",
      engine: "realtime",
      greeting: "Hello from the realtime line.",
    });
    expect(created.status).toBe(202);
    const { callId } = created.json;
    // `voicecall tail <callId>` follows the call live, as an operator would.
    const tail = cli("tail", callId, "--json", "--ready");
    await waitFor(() => tail.out.includes("tailing") || undefined, "tail subscribed", 15_000, 50);
    const phone = await v.sim.nextCall(20_000);
    await phone.waitForStream(1, 20_000);
    await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 30_000, 100);
    const session = fake.last!;
    expect(session.responses[0]!.metadata).toEqual({ vc: "greeting" });
    const greetingHeard = phone.heard().audio.length;
    expect(greetingHeard).toBeGreaterThanOrEqual(session.sentAudio[0]!.length);

    await phone.say("what are your opening hours");
    await waitFor(
      async () => (await v.store.transcript(callId)).some((t) => t.role === "agent" && t.text === "We open at nine."),
      "answer heard",
      30_000,
      100,
    );
    await phone.say("that is all thanks");
    expect(await phone.waitForEnd(40_000)).toBe("completed");

    const shown = await v.api<{ call: { engine: string; state: string }; transcript: TranscriptEntry[] }>(
      "GET",
      `/api/calls/${callId}`,
    );
    expect(shown.json.call).toMatchObject({ engine: "realtime" });
    expect(shown.json.transcript.map((l) => [l.role, l.text])).toEqual([
      ["agent", "Hello from the realtime line."],
      ["caller", "what are your hours"],
      ["agent", "We open at nine."],
      ["caller", "that is all thanks"],
      ["agent", "Goodbye."],
    ]);
    // One stream, one model session: no reconnects along the way.
    expect(fake.sessions).toHaveLength(1);

    // Both sides in `tail` (the caller's words as transcript.final, the model's heard words as
    // transcript.agent) and in `show`.
    const tailed = tail.out
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; text?: string });
    tail.ac.abort();
    expect(await tail.done).toBe(0);
    expect(tailed.filter((e) => e.type === "transcript.final").map((e) => e.text)).toEqual([
      "what are your hours",
      "that is all thanks",
    ]);
    expect(tailed.filter((e) => e.type === "transcript.agent").map((e) => e.text)).toEqual([
      "Hello from the realtime line.",
      "We open at nine.",
      "Goodbye.",
    ]);
    const show = cli("show", callId);
    expect(await show.done).toBe(0);
    const text = show.out.join("\n");
    expect(text).toMatch(/agent\s+Hello from the realtime line\./);
    expect(text).toMatch(/caller\s+what are your hours/);
    expect(text).toMatch(/agent\s+We open at nine\./);
  }, 180_000);

  it("max duration: a call nobody ends stops at Twilio's TimeLimit, and its model session closes with it", async () => {
    const n = fake.sessions.length;
    const created = await v.api<{ callId: string }>("POST", "/api/calls", {
      to: "+14155550124",
      engine: "realtime",
      greeting: "Hello again.",
    });
    expect(created.status).toBe(202);
    const { callId } = created.json;
    const phone = await v.sim.nextCall(20_000);
    await phone.waitForStream(1, 20_000);
    await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 30_000, 100);
    const session = fake.sessions[n]!;
    expect(await phone.waitForEnd((MAX_DURATION_S + 30) * 1000)).toBe("completed");
    expect(phone.events.find((e) => e.type === "end")).toMatchObject({ reason: "time-limit" });
    await waitFor(() => session.ws.readyState === session.ws.CLOSED || undefined, "model session closed", 15_000, 50);
    await waitFor(
      async () => (await v.store.getCall(callId))?.state === "completed" || undefined,
      "call completed",
      15_000,
      100,
    );
    expect(fake.sessions).toHaveLength(n + 1);
  }, 180_000);
});
