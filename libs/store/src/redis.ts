import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "@voicecall/log";

/**
 * Where Redis is, as every service's config spells it (libs/config `commonFields`): one server at
 * REDIS_URL, or, with REDIS_SENTINELS set, the primary that those sentinels name REDIS_SENTINEL_NAME.
 */
export interface RedisSettings {
  REDIS_URL: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  /** Replicas the writes that matter wait for (WAIT); default 1 with Sentinel, 0 without. */
  REDIS_WAIT_REPLICAS?: number;
  /** WAIT's timeout, ms. */
  REDIS_WAIT_MS?: number;
}

/** What `CallStore` needs to make a write survive a failover: WAIT for `replicas` for at most `timeoutMs`. */
export interface DurableWrites {
  replicas: number;
  timeoutMs: number;
  /** A write reached fewer replicas than asked before the timeout (it is kept on the primary only). */
  onShortfall?: (acked: number, wanted: number) => void;
}

/** The store's WAIT settings from config (undefined = writes do not wait), logging each shortfall. */
export function durableWrites(s: RedisSettings, log?: Logger): DurableWrites | undefined {
  const replicas = s.REDIS_WAIT_REPLICAS ?? (s.REDIS_SENTINELS ? 1 : 0);
  if (replicas === 0) return undefined;
  return {
    replicas,
    timeoutMs: s.REDIS_WAIT_MS ?? 500,
    onShortfall: (acked, wanted) =>
      log?.warn({ acked, wanted }, "redis write not yet on enough replicas (kept on the primary)"),
  };
}

/** ioredis options for Sentinel mode: the URL's password, database and TLS, the primary found through the sentinels. */
function sentinelOptions(s: RedisSettings): RedisOptions {
  const u = new URL(s.REDIS_URL);
  const sentinels = s.REDIS_SENTINELS!.split(",").map((hp) => {
    const i = hp.lastIndexOf(":");
    return { host: hp.slice(0, i).trim(), port: Number(hp.slice(i + 1)) };
  });
  const db = Number(u.pathname.replace(/^\//, "") || "0");
  return {
    sentinels,
    name: s.REDIS_SENTINEL_NAME ?? "mymaster",
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    db,
    // No `failoverDetector`: in ioredis 6 its disconnect can land while the client is reconnecting,
    // which ends the client for good ("Connection is closed."). A dead primary closes the socket; a
    // cut-off one is turned into a replica by the sentinels once reachable, and READONLY moves us on.
    // A promoted replica's old primary comes back as a replica: a write that reaches it gets
    // READONLY; reconnect (asking the sentinels again) and send the command once more.
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
  };
}

/**
 * A Redis client that waits for the server with capped backoff (logged) instead of failing:
 * services may start before Redis, and Redis may restart under them (AOF keeps the data) or fail
 * over to a replica (Sentinel mode: commands queue while the sentinels promote it, then go there).
 */
export function connectRedis(target: string | RedisSettings, log: Logger, name = "voicecall"): Redis {
  const s: RedisSettings = typeof target === "string" ? { REDIS_URL: target } : target;
  let attempt = 0;
  const opts: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => {
      attempt = times;
      return Math.min(5000, 100 * 2 ** Math.min(times, 6));
    },
  };
  const r = s.REDIS_SENTINELS
    ? new Redis({
        ...opts,
        ...sentinelOptions(s),
        sentinelRetryStrategy: (times) => Math.min(2000, 100 * 2 ** Math.min(times, 4)),
      })
    : new Redis(s.REDIS_URL, opts);
  r.on("error", (err) => log.warn({ attempt, err: err.message }, "redis error"));
  r.on("ready", () => {
    if (attempt > 0) log.info({ attempt }, "redis reconnected");
    attempt = 0;
  });
  return r;
}
