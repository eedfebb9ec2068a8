import { z } from "zod";

/** Reusable env fields, so every service spells the shared variables the same way. */
export const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

export const port = (def: number) =>
  z.coerce.number().int().min(0).max(65535).default(def).describe("e.g. 3000");

export const ms = (def: number) => z.coerce.number().int().nonnegative().default(def).describe("milliseconds, e.g. 5000");

export const natsUrl = z.string().regex(/^(nats|tls):\/\/.+/, "must be nats://host:port").default("nats://127.0.0.1:4222").describe("e.g. nats://nats:4222");
export const redisUrl = z.string().regex(/^rediss?:\/\/.+/, "must be redis://host:port").default("redis://127.0.0.1:6379").describe("e.g. redis://redis:6379");

/** The public https origin Twilio reaches, without a trailing slash or path. */
export const publicUrl = z
  .string()
  .url("must be a URL")
  .refine((u) => u.startsWith("https://"), "must be https:// (Twilio only streams to wss://)")
  .transform((u) => u.replace(/\/+$/, ""))
  .describe("e.g. https://voice.example.com");

export const secret = (what: string) => z.string().min(16, `${what} must be at least 16 characters`).describe("e.g. output of `openssl rand -hex 32`");

export const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info");

/** Fields every service has. */
export const commonFields = {
  NATS_URL: natsUrl,
  REDIS_URL: redisUrl,
  LOG_LEVEL: logLevel,
  LOG_PRETTY: bool.default("false"),
  INSTANCE_ID: z.string().min(1).optional().describe("e.g. media-1; defaults to hostname + pid"),
  SHUTDOWN_TIMEOUT_MS: ms(10_000),
};
