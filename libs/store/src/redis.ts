import { Redis } from "ioredis";
import type { Logger } from "@voicecall/log";

/**
 * A Redis client that waits for the server with capped backoff (logged) instead of failing:
 * services may start before Redis, and Redis may restart under them (AOF keeps the data).
 */
export function connectRedis(url: string, log: Logger, name = "voicecall"): Redis {
  let attempt = 0;
  const r = new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => {
      attempt = times;
      return Math.min(5000, 100 * 2 ** Math.min(times, 6));
    },
  });
  r.on("error", (err) => log.warn({ attempt, err: err.message }, "redis error"));
  r.on("ready", () => {
    if (attempt > 0) log.info({ attempt }, "redis reconnected");
    attempt = 0;
  });
  return r;
}
