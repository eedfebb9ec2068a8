import { z } from "zod";

/** Reusable env fields, so every service spells the shared variables the same way. */
export const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

export const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def).describe("e.g. 3000");

export const ms = (def: number) =>
  z.coerce.number().int().nonnegative().default(def).describe("milliseconds, e.g. 5000");

/** One NATS URL, or a comma-separated list of a cluster's nodes (the client tries each and fails over). */
export const natsUrl = z
  .string()
  .refine(
    (v) => v.split(",").every((u) => /^(nats|tls):\/\/[^\s,]+$/.test(u.trim())),
    "must be nats://host:port, or a comma-separated list of them",
  )
  .default("nats://127.0.0.1:4222")
  .describe("e.g. nats://nats:4222 or nats://n1:4222,nats://n2:4222,nats://n3:4222");
export const redisUrl = z
  .string()
  .regex(/^rediss?:\/\/.+/, "must be redis://host:port")
  .default("redis://127.0.0.1:6379")
  .describe("e.g. redis://redis:6379");

/** The public https origin Twilio reaches, without a trailing slash or path. */
export const publicUrl = z
  .string()
  .url("must be a URL")
  .refine((u) => u.startsWith("https://"), "must be https:// (Twilio only streams to wss://)")
  .transform((u) => u.replace(/\/+$/, ""))
  .describe("e.g. https://voice.example.com");

export const secret = (what: string) =>
  z.string().min(16, `${what} must be at least 16 characters`).describe("e.g. output of `openssl rand -hex 32`");

export const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");

/** Redis Sentinel: a comma-separated list of sentinels; when set, the primary is found through them. */
export const redisSentinels = z
  .string()
  .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, "must be host:port, or a comma-separated list of them")
  .optional()
  .describe("e.g. sentinel-0:26379,sentinel-1:26379,sentinel-2:26379");

/** Fields every service has. */
export const commonFields = {
  NATS_URL: natsUrl,
  REDIS_URL: redisUrl,
  /** Set = Sentinel mode: REDIS_URL's host is unused, its password, database and TLS still apply. */
  REDIS_SENTINELS: redisSentinels,
  REDIS_SENTINEL_NAME: z.string().min(1).default("mymaster").describe("the name in `sentinel monitor NAME …`"),
  /** Writes that must survive a failover (call record, state change, transcript line) wait for this many replicas; default 1 with Sentinel, else 0. */
  REDIS_WAIT_REPLICAS: z.coerce.number().int().min(0).max(16).optional().describe("a count, e.g. 1"),
  REDIS_WAIT_MS: ms(500),
  LOG_LEVEL: logLevel,
  LOG_PRETTY: bool.default("false"),
  INSTANCE_ID: z.string().min(1).optional().describe("e.g. media-1; defaults to hostname + pid"),
  SHUTDOWN_TIMEOUT_MS: ms(10_000),
};
