import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor, type VoiceStack } from "@voicecall/testkit";
import { CallDriver } from "./calls";
import { lost, snapshot, type Ledger } from "./ledger";
import { runPhase } from "./phase";
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
const GREETING = "Hello, this is Acme Dental.";

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
  await Promise.all(
    calls.map((c) =>
      waitFor(
        async () => (await v.store.getCall(c.callId))?.greetingPlayed,
        `greeting of call ${c.index}`,
        90_000,
        200,
      ),
    ),
  );
}, 300_000);

afterAll(async () => {
  if (rows.length) {
    printTable(`chaos: ${N} concurrent calls, one fault at a time (CHAOS_CALLS=${N})`, rows);
    writeArtifact("faults", {
      calls: N,
      command: N >= 20 ? "npm run test:chaos" : "npx vitest run test/chaos/faults.test.ts",
      durationMs: Date.now() - startedAt,
      rows,
    });
  }
  await v?.stop();
}, 120_000);

const ids = () => calls.map((c) => c.callId);

async function phase(name: string, fault: (() => Promise<void>) | undefined): Promise<FaultRow> {
  const { row, ledger } = await runPhase(v, calls, name, fault);
  lastLedger = ledger;
  rows.push(row);
  return row;
}

let lastLedger: Ledger | undefined;

function expectNothingLost(row: FaultRow): void {
  expect({ records: row.lostRecords, timeline: row.lostTimelineEntries, transcript: row.lostTranscriptLines }).toEqual({
    records: 0,
    timeline: 0,
    transcript: 0,
  });
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
      await waitFor(
        async () =>
          ["completed", "canceled", "failed", "busy", "no-answer"].includes(
            (await v.store.getCall(c.callId))?.state ?? "",
          ),
        `call ${c.index} terminal`,
        60_000,
        200,
      );
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
