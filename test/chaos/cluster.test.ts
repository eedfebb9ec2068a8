import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startClusterServers, waitFor, type ClusterServers, type VoiceStack } from "@voicecall/testkit";
import { CallDriver } from "./calls";
import { lost, snapshot, type Ledger } from "./ledger";
import { runPhase } from "./phase";
import { chaosCalls, printTable, writeArtifact, type FaultRow } from "./report";
import { startChaosStack } from "./stack";

/**
 * The multi-host shape on loopback: a 3-node NATS cluster (every service given all three URLs, the
 * servers' gossip off) and Redis as a primary and a replica under three sentinels (every service in
 * Sentinel mode, writes that matter WAITing for the replica). N concurrent calls (CHAOS_CALLS; 20
 * with `npm run test:chaos`, 3 inside `npm test`) while one NATS node is killed, then the Redis
 * primary. Asserted: no call dropped, no call record, timeline entry or transcript line lost.
 */
const N = chaosCalls();
const GREETING = "Hello, this is Acme Dental.";

let v: VoiceStack;
let servers: ClusterServers;
let calls: CallDriver[] = [];
let lastLedger: Ledger | undefined;
/** Per fault: the services' NATS reconnect times (ms after the kill), the sentinels' promotion time. */
const rows: (FaultRow & { reconnectMs: string; promotedMs: number | string })[] = [];
const startedAt = Date.now();

beforeAll(async () => {
  v = await startChaosStack({
    mediaReplicas: 2,
    stopGraceMs: 10_000,
    servers: async (o) => (servers = await startClusterServers(o)),
    env: {
      LOG_LEVEL: "info",
      SILENCE_REPROMPT_MS: "600000",
      MAX_CONCURRENT_CALLS: "200",
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
    printTable(
      `cluster chaos: ${N} concurrent calls on a 3-node NATS cluster and Redis Sentinel (CHAOS_CALLS=${N})`,
      rows,
    );
    writeArtifact("cluster", {
      calls: N,
      command: N >= 20 ? "npm run test:chaos" : "npx vitest run test/chaos/cluster.test.ts",
      durationMs: Date.now() - startedAt,
      rows,
    });
  }
  await v?.stop();
}, 120_000);

/** Per instance that lost its NATS node: ms from the kill to its "reconnect" log line. */
function reconnectTimes(killedAt: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of v.stack.all()) {
    for (const line of h.logs().split("\n")) {
      if (!line.includes('"status":"reconnect"')) continue;
      const t = (JSON.parse(line) as { time: number }).time;
      if (t >= killedAt) {
        out[h.instance] = t - killedAt;
        break;
      }
    }
  }
  return out;
}

function expectNothingLost(row: FaultRow): void {
  expect({
    records: row.lostRecords,
    timeline: row.lostTimelineEntries,
    transcript: row.lostTranscriptLines,
    dropped: row.dropped,
  }).toEqual({
    records: 0,
    timeline: 0,
    transcript: 0,
    dropped: 0,
  });
}

describe(`cluster chaos: ${N} concurrent calls, NATS cluster and Redis Sentinel`, () => {
  it("a NATS node is killed (-9): every service moves to another node, no call dropped", async () => {
    let killedAt = 0;
    let node = 0;
    const { row, ledger } = await runPhase(v, calls, "nats node kill -9 (the busiest of 3)", async () => {
      // The node the most services are on: each picked a random URL, so node 0 may have none.
      node = await servers.nats.busiest();
      killedAt = Date.now();
      await servers.nats.kill9(node);
    });
    lastLedger = ledger;
    const moved = reconnectTimes(killedAt);
    rows.push({
      ...row,
      reconnectMs: Object.entries(moved)
        .map(([who, ms]) => `${who} ${ms}`)
        .join(", "),
      promotedMs: "",
    });
    await servers.nats.start(node);
    expectNothingLost(row);
    // The node died under replies being heard (at 20 calls, tts once spoke none: no turn was in flight).
    expect(row.playingAtFault).toBeGreaterThan(0);
    // Something was on the killed node and came back through the list (gossip is off).
    expect(Object.keys(moved).length).toBeGreaterThan(0);
    expect(row.continued).toBe(row.calls);
  }, 240_000);

  it("the Redis primary is killed (-9): the sentinels promote the replica, nothing is lost", async () => {
    let promotedMs = 0;
    const { row, ledger } = await runPhase(v, calls, "redis primary kill -9 (Sentinel)", async () => {
      promotedMs = (await servers.redis.failover()).promotedMs;
    });
    lastLedger = ledger;
    rows.push({ ...row, reconnectMs: "", promotedMs });
    expectNothingLost(row);
    expect(row.continued).toBe(row.calls);
  }, 240_000);

  it("after hang-up every call is in a terminal state, with its record, timeline and transcript", async () => {
    await Promise.all(calls.filter((c) => c.phone.status === "in-progress").map((c) => c.phone.hangup()));
    const ids = calls.map((c) => c.callId);
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
    const end = await snapshot(v.store, ids);
    if (lastLedger) expect(lost(lastLedger, end).details).toEqual([]);
    for (const c of calls)
      expect(end.get(c.callId)!.timeline.at(-1)).toMatch(/^(completed|canceled|failed|busy|no-answer)@/);
  }, 120_000);
});
