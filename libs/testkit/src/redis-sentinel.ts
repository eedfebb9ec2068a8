import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, waitFor, waitForPort } from "./ports";
import { requireBinary, startProc, type Proc } from "./proc";
import { redisServerArgs } from "./redis-args";

export const SENTINEL_NAME = "voicecall";

export interface RedisSentinelSet {
  /** REDIS_SENTINELS for the services: `127.0.0.1:<port>,…`. */
  sentinels: string;
  name: string;
  /** The redis://… of the data node that started as primary (its password/db/TLS are what Sentinel mode keeps). */
  url: string;
  /** Port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  /**
   * SIGKILL the current primary, wait until the sentinels have promoted the replica, then start the
   * old primary again (from its AOF) and wait until it is the new primary's replica. Returns how
   * long the promotion took (kill → sentinels name the new primary), ms.
   */
  failover(): Promise<{ promotedMs: number; oldPort: number; newPort: number }>;
  /** Freeze the replica (SIGSTOP) until the returned function is called (SIGCONT): replication lag on demand. */
  freezeReplica(): Promise<() => void>;
  stop(): Promise<void>;
}

/**
 * A primary and a replica (real redis-server, AOF on both) watched by three real sentinels
 * (Debian's redis-sentinel; quorum 2) on loopback, with a short down-after so a test's failover
 * takes seconds, not the default 30 s.
 */
export async function startRedisSentinel(dir: string, o: { downAfterMs?: number } = {}): Promise<RedisSentinelSet> {
  requireBinary("redis-server");
  requireBinary("redis-sentinel");
  const data = await Promise.all(
    [0, 1].map(async (i) => ({
      i,
      port: await freePort(),
      dir: join(dir, `redis-${i}`),
      proc: undefined as Proc | undefined,
    })),
  );
  const sentinels = await Promise.all(
    [0, 1, 2].map(async (i) => ({ i, port: await freePort(), proc: undefined as Proc | undefined })),
  );
  const primary = data[0]!;
  const startData = async (d: (typeof data)[number], replicaOf?: number) => {
    mkdirSync(d.dir, { recursive: true });
    const args = redisServerArgs(d.port, d.dir);
    if (replicaOf) args.push("--replicaof", "127.0.0.1", String(replicaOf));
    d.proc = startProc("redis-server", args);
    await waitForPort(d.port).catch((e: Error) => {
      throw new Error(`${e.message}\n${d.proc!.output()}`);
    });
  };
  const ask = async <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis({
      port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on("error", () => undefined);
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  const primaryPort = async (sentinel = sentinels[0]!) =>
    Number(
      ((await ask(sentinel.port, (r) => r.call("SENTINEL", "get-master-addr-by-name", SENTINEL_NAME))) as string[])[1],
    );
  const linked = async (replicaPort: number) =>
    (await ask(replicaPort, (r) => r.info("replication"))).includes("master_link_status:up");
  const stopAll = async () => {
    await Promise.all([...sentinels, ...data].map((x) => x.proc?.stop()));
  };

  try {
    await startData(primary);
    await startData(data[1]!, primary.port);
    await waitFor(() => linked(data[1]!.port), "redis replica linked to its primary", 15_000, 50);
    for (const s of sentinels) {
      const file = join(dir, `sentinel-${s.i}.conf`);
      // Sentinel rewrites its own file (what it learned), so each gets a writable one.
      writeFileSync(
        file,
        `port ${s.port}\nbind 127.0.0.1\ndir ${dir}\n` +
          `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary.port} 2\n` +
          `sentinel down-after-milliseconds ${SENTINEL_NAME} ${o.downAfterMs ?? 1000}\n` +
          `sentinel failover-timeout ${SENTINEL_NAME} 5000\nsentinel parallel-syncs ${SENTINEL_NAME} 1\n`,
      );
      s.proc = startProc("redis-sentinel", [file]);
    }
    for (const s of sentinels) await waitForPort(s.port);
    // Ready when every sentinel knows the replica and the other sentinels (a failover needs both).
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const ok = await ask(s.port, async (r) => {
            const m = (await r.call("SENTINEL", "master", SENTINEL_NAME)) as string[];
            const f = Object.fromEntries(m.flatMap((v, i) => (i % 2 ? [] : [[v, m[i + 1]]])));
            return Number(f["num-slaves"]) >= 1 && Number(f["num-other-sentinels"]) >= 2;
          });
          if (!ok) return false;
        }
        return true;
      },
      "sentinels to see the replica and each other",
      30_000,
      100,
    );
  } catch (err) {
    const out = [...data, ...sentinels].map((x) => x.proc?.output().slice(-1500) ?? "").join("\n---\n");
    await stopAll();
    throw new Error(`redis sentinel set did not start: ${(err as Error).message}\n${out}`);
  }

  return {
    sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`).join(","),
    name: SENTINEL_NAME,
    url: `redis://127.0.0.1:${primary.port}`,
    primaryPort: () => primaryPort(),
    async failover() {
      const oldPort = await primaryPort();
      const old = data.find((d) => d.port === oldPort)!;
      const t0 = Date.now();
      old.proc!.kill9();
      await old.proc!.exited;
      const newPort = await waitFor(
        async () => {
          const p = await primaryPort();
          return p !== oldPort ? p : undefined;
        },
        "sentinels to promote the replica",
        30_000,
        50,
      );
      const promotedMs = Date.now() - t0;
      // Back from its AOF as a primary; the sentinels turn it into the new primary's replica.
      await startData(old);
      await waitFor(() => linked(old.port), "old primary to rejoin as a replica", 30_000, 100);
      return { promotedMs, oldPort, newPort };
    },
    async freezeReplica() {
      const p = await primaryPort();
      const pid = data.find((d) => d.port !== p)!.proc!.child.pid!;
      process.kill(pid, "SIGSTOP");
      return () => process.kill(pid, "SIGCONT");
    },
    stop: stopAll,
  };
}
