import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliConfig, Ctx, runCli } from "@voicecall/cli";
import {
  EventReceiver,
  cliEnvFor,
  readmeEventVerifier,
  startVoiceStack,
  waitFor,
  type VerifyEvent,
  type VoiceStack,
} from "@voicecall/testkit";

/**
 * Call events from the whole stack (processes, Caddy TLS, the Twilio simulator) to a real receiver:
 * a conversation call during which the receiver goes down and the gateway and the agent are both
 * restarted; once the receiver is back it has every event, in order, each signed as README shows.
 * A refused event (400) is dead-lettered, listed by `voicecall events`, and resent by it.
 */
const SECRET = "e2e-event-secret-0123456789abcdef";
let v: VoiceStack;
let rx: EventReceiver;
let verify: VerifyEvent;

beforeAll(async () => {
  verify = await readmeEventVerifier();
  rx = await new EventReceiver().start();
  rx.answer = (r) => (r.json.type === "dtmf" ? 400 : 204);
  v = await startVoiceStack({
    env: { SILENCE_REPROMPT_MS: "600000", AGENT_LEASE_MS: "3000", AGENT_SCAN_MS: "500" },
    serviceEnv: {
      gateway: {
        EVENT_WEBHOOK_URL: rx.url,
        EVENT_WEBHOOK_SECRET: SECRET,
        EVENT_RETRY_BASE_MS: "50",
        EVENT_RETRY_MAX_MS: "500",
      },
    },
  });
}, 120_000);
afterAll(async () => {
  await v?.stop();
  await rx?.stop();
});

async function cli(...argv: string[]) {
  const out: string[] = [];
  const ctx = new Ctx(
    cliConfig(cliEnvFor(v.stack)),
    (l) => out.push(l),
    (l) => out.push(l),
    new AbortController().signal,
  );
  try {
    return { code: await runCli(ctx, argv), text: out.join("\n") };
  } finally {
    await ctx.close();
  }
}

describe("call events from the running stack", () => {
  it("a receiver down while gateway and agent restart mid-call still gets every event, in order", async () => {
    const created = await v.api<{ callId: string }>("POST", "/api/calls", {
      to: "+14155550123",
      greeting: "Hello, this is Acme Dental.",
    });
    expect(created.status).toBe(202);
    const { callId } = created.json;
    const phone = await v.sim.nextCall(20_000);
    await phone.waitForStream(1, 20_000);
    await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 30_000, 100);
    await phone.say("what are your opening hours");
    await waitFor(
      async () =>
        (await v.store.transcript(callId)).some(
          (t) => t.role === "agent" && /open/i.test(t.text) && t.utteranceId?.startsWith("r"),
        ),
      "reply",
      30_000,
      100,
    );
    await waitFor(
      () => rx.events(callId).some((e) => e.type === "transcript" && e.data.role === "caller"),
      "caller line delivered",
      20_000,
    );

    // Mid-call: the receiver goes down, then the gateway and the agent restart.
    await rx.stop();
    await v.stack.get("gateway").restart();
    await v.stack.get("agent").restart();
    phone.press("5");
    await waitFor(
      async () => (await v.store.events.after(callId, "0-0", 100)).some((i) => i.entry.type === "dtmf"),
      "dtmf recorded",
      20_000,
      100,
    );
    await rx.start();
    await phone.say("no thanks");
    expect(await phone.waitForEnd(60_000)).toBe("completed");
    await waitFor(() => rx.events(callId).some((e) => e.type === "call.ended"), "call.ended delivered", 30_000, 100);

    const evs = rx.events(callId);
    const types = evs.map((e) => e.type);
    expect(types[0]).toBe("call.created");
    expect(types[1]).toBe("call.answered");
    expect(types.at(-1)).toBe("call.ended");
    // Every transcript line of both sides, in the store's order.
    const lines = (await v.store.transcript(callId)).map((t) => `${t.role}: ${t.text}`);
    expect(evs.filter((e) => e.type === "transcript").map((e) => `${e.data.role}: ${e.data.text}`)).toEqual(lines);
    // (an agent that saw the digit writes it as a caller line too; one restarting at that moment does not).
    expect(lines.filter((l) => l.startsWith("caller:") && !/pressed key/.test(l))).toEqual([
      "caller: what are your opening hours",
      "caller: no thanks",
    ]);
    expect(evs.find((e) => e.type === "tool.called")?.data).toMatchObject({ name: "end_call" });
    // At least once: a repeat carries an id already seen, never a new event out of order.
    for (const r of rx.accepted()) expect(verify(SECRET, r.headers["voicecall-signature"], r.raw)).toBe(true);
    const report = evs.at(-1)!.data;
    expect(report).toMatchObject({ state: "completed", direction: "outbound" });
    expect(report.transcript.map((t: { role: string; text: string }) => `${t.role}: ${t.text}`)).toEqual(lines);
    expect(report.turnLatencyMs.count).toBeGreaterThanOrEqual(1);
    expect(report.talkMs).toBeGreaterThan(1000);

    // The digit was refused (400): dead-lettered, listed, resent by the CLI.
    const listed = await cli("events");
    expect(listed.code).toBe(0);
    expect(listed.text).toMatch(/dead letters: 1/);
    expect(listed.text).toContain(callId);
    expect(listed.text).toContain("receiver answered 400");
    rx.answer = () => 204;
    const resent = await cli("events", "resend", "--all");
    expect(resent.code).toBe(0);
    expect(resent.text).toMatch(/delivered/);
    expect(rx.events(callId).some((e) => e.type === "dtmf" && e.data.digit === "5")).toBe(true);
    expect((await cli("events")).text).toMatch(/dead letters: 0/);
  }, 240_000);
});
