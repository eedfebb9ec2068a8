import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor, type VoiceStack } from "@voicecall/testkit";
import { CallDriver, type TurnResult } from "./calls";
import { lost, snapshot, type Ledger } from "./ledger";
import { chaosCalls, printTable, writeArtifact, type FaultRow } from "./report";
import { leakedSecrets } from "./secrets";
import { startChaosStack } from "./stack";

/**
 * N concurrent conversation calls (CHAOS_CALLS; 20 with `npm run test:chaos`, 3 inside `npm test`)
 * through Caddy TLS and the Twilio simulator while, one at a time, a part of the stack fails.
 * Invariants are asserted (no call record, timeline entry or transcript line lost; every call ends
 * in a terminal state); how many calls continued and the longest gap heard are reported as numbers.
 */
const N = chaosCalls();
const TURN_TIMEOUT_MS = 30_000;
const GREETING = "Hello, this is Acme Dental.";
/** Long reply (the fault hits while it plays) / short reply (the turn after the fault). */
const LONG = "what are your opening hours";
const SHORT = "yes please";

let v: VoiceStack;
let calls: CallDriver[] = [];
const rows: FaultRow[] = [];
const startedAt = Date.now();

beforeAll(async () => {
  v = await startChaosStack({
    mediaReplicas: 2,
    stopGraceMs: 10_000,
    env: {
      LOG_LEVEL: "info",
      SILENCE_REPROMPT_MS: "600000",
      MAX_CONCURRENT_CALLS: "200",
      // Leases lapse quickly so a restarted owner's calls are taken over within seconds.
      AGENT_LEASE_MS: "3000",
      AGENT_SCAN_MS: "500",
    },
  });
  calls = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 150));
      return CallDriver.place(v, i, GREETING);
    }),
  );
  await Promise.all(calls.map((c) => waitFor(async () => (await v.store.getCall(c.callId))?.greetingPlayed, `greeting of call ${c.index}`, 90_000, 200)));
}, 300_000);

afterAll(async () => {
  if (rows.length) {
    printTable(`chaos: ${N} concurrent calls, one fault at a time (CHAOS_CALLS=${N})`, rows);
    writeArtifact("faults", { calls: N, command: N >= 20 ? "npm run test:chaos" : "npx vitest run test/chaos/faults.test.ts", durationMs: Date.now() - startedAt, rows });
  }
  await v?.stop();
}, 120_000);

const ids = () => calls.map((c) => c.callId);
const live = () => calls.filter((c) => c.phone.status === "in-progress");

/**
 * One phase: every call says something with a long reply; once replies are playing the fault runs
 * (and its part comes back); then every call speaks again (repeating once if unanswered).
 */
async function phase(name: string, fault: (() => Promise<void>) | undefined): Promise<FaultRow> {
  const before = await snapshot(v.store, ids());
  const liveBefore = live();
  const saysBefore = new Map(liveBefore.map((c) => [c, says(c).length]));
  const inFlight = liveBefore.map((c) => c.turn(LONG, TURN_TIMEOUT_MS));
  let faultMs = 0;
  if (fault) {
    // Strike while replies are being heard (or after a while if none comes).
    const t0 = Date.now();
    const playing = (c: CallDriver) => says(c).length > saysBefore.get(c)! && heardSinceLastSay(c) > 300;
    await waitFor(() => liveBefore.some(playing) || Date.now() - t0 > 20_000, "a reply playing", 30_000, 50);
    const f0 = Date.now();
    await fault();
    faultMs = Date.now() - f0;
  }
  const first = await Promise.all(inFlight);
  const after = await Promise.all(liveBefore.map((c) => c.turnWithRetry(SHORT, TURN_TIMEOUT_MS)));
  const ledger = await snapshot(v.store, ids());
  const loss = lost(before, ledger);
  lastLedger = ledger;
  if (loss.details.length) process.stdout.write(`chaos ${name}: lost\n  ${loss.details.join("\n  ")}\n`);
  const turns: TurnResult[] = [...first, ...after.flatMap((a) => a.results)];
  const row: FaultRow = {
    fault: name,
    faultMs,
    calls: liveBefore.length,
    inFlightAnswered: first.filter((t) => t.answered).length,
    continued: after.filter((a) => a.answered).length,
    continuedFirstTry: after.filter((a) => a.results[0]!.answered).length,
    longestGapMs: Math.max(0, ...turns.map((t) => t.gapMs ?? 0)),
    lostRecords: loss.records,
    lostTimelineEntries: loss.timelineEntries,
    lostTranscriptLines: loss.transcriptLines,
    dropped: liveBefore.length - live().length,
  };
  rows.push(row);
  return row;
}

let lastLedger: Ledger | undefined;

const says = (c: CallDriver) => c.phone.events.filter((e) => e.type === "caller.say");

/** Audio heard since the caller last finished speaking. */
function heardSinceLastSay(c: CallDriver): number {
  const last = says(c).at(-1);
  if (!last) return 0;
  const end = (last.atMs as number) + ((last.ms as number) ?? 0);
  return c.phone.heard().segments.reduce((ms, s) => ms + Math.max(0, s.atMs + s.durationMs - Math.max(end, s.atMs)), 0);
}

function expectNothingLost(row: FaultRow): void {
  expect({ records: row.lostRecords, timeline: row.lostTimelineEntries, transcript: row.lostTranscriptLines }).toEqual({ records: 0, timeline: 0, transcript: 0 });
}

describe(`chaos: ${N} concurrent calls, one fault at a time`, () => {
  it("baseline (no fault)", async () => {
    const row = await phase("none (baseline)", undefined);
    expectNothingLost(row);
    expect(row.continued).toBeGreaterThan(0);
  }, 240_000);

  it("a media worker is killed (-9) and comes back", async () => {
    const m = v.stack.services.media[0]!;
    expectNothingLost(
      await phase("media-0 kill -9", async () => {
        await m.kill9();
        await m.restart();
      }),
    );
  }, 240_000);

  for (const name of ["agent", "tts", "gateway"] as const) {
    it(`the ${name} process is restarted`, async () => {
      expectNothingLost(await phase(`${name} restart`, () => v.stack.get(name).restart()));
    }, 240_000);
  }

  it("nats-server is restarted", async () => {
    expectNothingLost(await phase("nats-server restart", () => v.stack.servers.restartNats()));
  }, 240_000);

  it("redis-server is restarted (AOF)", async () => {
    expectNothingLost(await phase("redis-server restart", () => v.stack.servers.restartRedis()));
  }, 240_000);

  it("after hang-up every call is in a terminal state, with its record, timeline and transcript", async () => {
    const before = await snapshot(v.store, ids());
    await Promise.all(calls.filter((c) => c.phone.status === "in-progress").map((c) => c.phone.hangup()));
    for (const c of calls) {
      await waitFor(async () => ["completed", "canceled", "failed", "busy", "no-answer"].includes((await v.store.getCall(c.callId))?.state ?? ""), `call ${c.index} terminal`, 60_000, 200);
    }
    const end = await snapshot(v.store, ids());
    expect(lost(before, end).details).toEqual([]);
    if (lastLedger) expect(lost(lastLedger, end).details).toEqual([]);
    for (const c of calls) {
      const rec = end.get(c.callId)!;
      expect(rec.record).toBe(true);
      expect(rec.timeline.at(-1)).toMatch(/^(completed|canceled|failed|busy|no-answer)@/);
      // Every caller utterance the agent answered is in the transcript as a caller line.
      const answered = c.turns.filter((t) => t.answered).length;
      const callerLines = rec.transcript.filter((l) => l.startsWith("caller@")).length;
      expect(callerLines, `call ${c.index}: caller lines vs answered turns`).toBeGreaterThanOrEqual(answered);
    }
  }, 120_000);

  it("no configured secret or handed-out stream token appears in any service's logs", () => {
    expect(leakedSecrets(v.stack, v.sim)).toEqual([]);
  });
});
