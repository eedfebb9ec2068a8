import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { startRedisSentinel, testLogger, type RedisSentinelSet } from "@voicecall/testkit";
import { CallStore } from "./call-store";
import { connectRedis, durableWrites } from "./redis";

/** Real redis-server primary + replica under three real redis-sentinel processes. */
let dir: string;
let set: RedisSentinelSet;
let redis: Redis;
const { log } = testLogger("sentinel", "silent");

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "vc-sentinel-"));
  set = await startRedisSentinel(dir);
  redis = connectRedis(
    { REDIS_URL: set.url, REDIS_SENTINELS: set.sentinels, REDIS_SENTINEL_NAME: set.name },
    log,
    "sentinel-test",
  );
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await set?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const line = (i: number) => ({ role: "caller" as const, text: `line ${i}`, ts: 1_700_000_000_000 + i });

describe("Redis Sentinel", () => {
  it("durableWrites: WAIT for one replica with Sentinel, none without, as configured otherwise", () => {
    expect(durableWrites({ REDIS_URL: "redis://r:6379" })).toBeUndefined();
    expect(
      durableWrites({ REDIS_URL: "redis://r:6379", REDIS_SENTINELS: "s:26379", REDIS_WAIT_MS: 200 }),
    ).toMatchObject({ replicas: 1, timeoutMs: 200 });
    expect(
      durableWrites({ REDIS_URL: "redis://r:6379", REDIS_SENTINELS: "s:26379", REDIS_WAIT_REPLICAS: 0 }),
    ).toBeUndefined();
  });

  it("a write waits for the replica: a frozen replica makes it report the shortfall, then writes stop waiting", async () => {
    const shortfalls: number[] = [];
    const store = new CallStore(redis, {
      durable: { replicas: 1, timeoutMs: 300, onShortfall: (acked) => shortfalls.push(acked) },
    });
    await store.appendTranscript("c-wait", line(0));
    expect(shortfalls).toEqual([]);
    const thaw = await set.freezeReplica();
    try {
      const t0 = Date.now();
      await store.appendTranscript("c-wait", line(1));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(shortfalls).toEqual([0]);
      // Backed off: the next write does not block the connection for another timeout.
      const t1 = Date.now();
      await store.appendTranscript("c-wait", line(2));
      expect(Date.now() - t1).toBeLessThan(250);
    } finally {
      thaw();
    }
    expect((await store.transcript("c-wait")).map((l) => l.text)).toEqual(["line 0", "line 1", "line 2"]);
  }, 30_000);

  it("the primary is killed under writes: the client follows the promotion and every acknowledged write is there", async () => {
    const store = new CallStore(redis, {
      durable: durableWrites({ REDIS_URL: set.url, REDIS_SENTINELS: set.sentinels }, log),
    });
    const acked: number[] = [];
    let stop = false;
    let i = 0;
    const writer = (async () => {
      while (!stop) {
        const n = i++;
        await store.appendTranscript("c-failover", line(n));
        acked.push(n);
      }
    })();
    while (acked.length < 50) await new Promise((r) => setTimeout(r, 10));
    const before = await set.primaryPort();
    const { newPort } = await set.failover();
    const atFailover = acked.length;
    while (acked.length < atFailover + 50) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await writer;
    expect(newPort).not.toBe(before);
    const kept = new Set((await store.transcript("c-failover")).map((l) => l.text));
    expect(acked.filter((n) => !kept.has(`line ${n}`))).toEqual([]);
  }, 90_000);
});
