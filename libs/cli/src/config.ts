import { z } from "zod";
import { fields, parseConfig } from "@voicecall/config";

/** The CLI reads the same variables as the services (from the environment or `.env` via compose). */
export const cliSchema = z.object({
  API_URL: z.string().url().default("http://127.0.0.1:3000").describe("e.g. http://gateway:3000"),
  API_TOKEN: z.string().optional(),
  NATS_URL: fields.natsUrl,
  REDIS_URL: fields.redisUrl,
  REDIS_SENTINELS: fields.redisSentinels,
  REDIS_SENTINEL_NAME: z.string().min(1).default("mymaster"),
  PUBLIC_URL: z.string().url().optional().describe("e.g. https://voice.example.com"),
  /** Where doctor connects for PUBLIC_URL when the name leads elsewhere from here (compose: caddy:443). */
  PUBLIC_URL_VIA: z
    .string()
    .regex(/^\[?[^\]\s]+\]?:\d+$/, "expected host:port")
    .optional()
    .describe("e.g. caddy:443"),
  TWILIO_AUTH_TOKEN: z.string().optional(),
  TWILIO_ACCOUNT_SID: z.string().optional(),
  TWILIO_API_BASE_URL: z.string().url().optional(),
  TWILIO_FROM_NUMBER: z.string().optional(),
  /** Extra CA (PEM) trusted for every TLS connection the CLI makes (Caddy's local CA; `--ca` wins). */
  CADDY_CA: z.string().min(1).optional().describe("e.g. tmp/dev/caddy/data/pki/authorities/local/root.crt"),
  /** Set by `npm run dev`: the Twilio values are made up (doctor says so instead of trying them). */
  TWILIO_ACCOUNT_GENERATED: fields.bool.default("false"),
});
export type CliConfig = z.infer<typeof cliSchema>;

export const cliConfig = (env: Record<string, string | undefined>): CliConfig => parseConfig(cliSchema, env);
