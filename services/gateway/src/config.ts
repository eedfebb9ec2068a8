import { z } from "zod";
import { ConfigError, commonFields, fields, parseConfig } from "@voicecall/config";
import { CallEngine, E164 } from "@voicecall/contracts";

const accountSid = z
  .string()
  .regex(/^AC[0-9a-fA-F]{32}$/, "must be AC followed by 32 hex digits")
  .describe("e.g. AC0123456789abcdef0123456789abcdef");
const seconds = (def: number) => z.coerce.number().int().positive().default(def).describe("seconds, e.g. 60");

/** An http(s) URL (a receiver of call events). */
export const httpUrl = z
  .string()
  .url("must be a URL")
  .refine((u) => /^https?:\/\//.test(u), "must be http:// or https://")
  .describe("e.g. https://example.com/voicecall/events");

/** Comma list → trimmed non-empty entries. */
const list = z
  .string()
  .default("")
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean),
  );

/** E.164 as people write it ("+1 (415) 555-0100", "0044…") → "+14155550100"; other input is returned trimmed. */
export function normalizeE164(s: string): string {
  const t = s.trim();
  if (t.startsWith("client:")) return t;
  const compact = t.replace(/[\s().-]/g, "");
  return compact.startsWith("00") ? `+${compact.slice(2)}` : compact;
}

/** Gateway environment: the names are the contract (HELPERS brief); values validated once at start. */
export const GatewayConfigSchema = z.object({
  ...commonFields,
  PORT: fields.port(3000),
  PUBLIC_URL: fields.publicUrl,
  /** Twilio is optional: without it the gateway serves the browser phone only (set all three or none). */
  TWILIO_ACCOUNT_SID: accountSid.optional(),
  TWILIO_AUTH_TOKEN: z
    .string()
    .min(8, "TWILIO_AUTH_TOKEN looks too short")
    .optional()
    .describe("the account's auth token"),
  /** Optional: send REST calls here instead of https://api.twilio.com (the simulator). */
  TWILIO_API_BASE_URL: z
    .string()
    .url("must be a URL")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional()
    .describe("e.g. http://127.0.0.1:4010"),
  TWILIO_FROM_NUMBER: E164.optional().describe("e.g. +14155550100"),
  /** The Twilio values were made up (`npm run dev`): webhook signatures are checked with them, REST is never tried. */
  TWILIO_ACCOUNT_GENERATED: fields.bool.default("false"),
  API_TOKEN: fields.secret("API_TOKEN"),
  STREAM_TOKEN_SECRET: fields.secret("STREAM_TOKEN_SECRET"),
  TWILIO_SKIP_SIGNATURE: fields.bool.default("false"),
  INBOUND_POLICY: z.enum(["disabled", "allowlist", "open"]).default("disabled"),
  INBOUND_ALLOW_FROM: list
    .transform((xs) => xs.map(normalizeE164))
    .pipe(z.array(E164))
    .describe("comma list of E.164 numbers, e.g. +14155550100,+14155550101"),
  INBOUND_GREETING: z
    .string()
    .min(1)
    .max(1000)
    .default("Hello, you are speaking with an automated assistant. How can I help?"),
  MAX_CONCURRENT_CALLS: z.coerce.number().int().positive().default(20).describe("e.g. 20"),
  RING_TIMEOUT_SECONDS: seconds(30).pipe(z.number().max(600)),
  MAX_DURATION_SECONDS: seconds(1800).pipe(z.number().max(14_400)),
  /** Peers whose X-Forwarded-For is believed (IPs or IPv4 CIDRs); the signature URL never uses headers. */
  TRUSTED_PROXIES: list.describe("e.g. 172.18.0.0/16,127.0.0.1"),
  CALL_RETENTION_MS: fields.ms(7 * 24 * 3600_000),
  /** Where call events go (signed POSTs); a call's own `eventWebhookUrl` wins. Blank: events off. */
  EVENT_WEBHOOK_URL: httpUrl.optional(),
  EVENT_WEBHOOK_SECRET: fields.secret("EVENT_WEBHOOK_SECRET").optional(),
  EVENT_WEBHOOK_TIMEOUT_MS: fields.ms(10_000),
  EVENT_RETRY_BASE_MS: fields.ms(1_000),
  EVENT_RETRY_MAX_MS: fields.ms(60_000),
  EVENT_RETRY_BUDGET_MS: fields.ms(24 * 3600_000),
  /** How calls are voiced unless `POST /api/calls` says otherwise (inbound calls too): `realtime` needs media's REALTIME_* settings. */
  VOICE_ENGINE: CallEngine.default("pipeline").describe("pipeline|realtime"),
});

export type GatewayConfig = Readonly<z.infer<typeof GatewayConfigSchema>>;

export function parseGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const c = parseConfig(GatewayConfigSchema, env);
  twilioSettings(c);
  eventSettings(c);
  return c;
}

/** Events are signed: a receiver URL without EVENT_WEBHOOK_SECRET is a config error. */
export function eventSettings(c: GatewayConfig): void {
  if (c.EVENT_WEBHOOK_URL && !c.EVENT_WEBHOOK_SECRET) {
    throw new ConfigError(
      "config: EVENT_WEBHOOK_SECRET is unset: EVENT_WEBHOOK_URL needs it to sign deliveries (e.g. output of `openssl rand -hex 32`)",
      "EVENT_WEBHOOK_SECRET",
    );
  }
}

const twilioVars = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"] as const;

/** The Twilio account, or undefined when none is configured; a partial set is a config error. */
export function twilioSettings(
  c: GatewayConfig,
): { accountSid: string; authToken: string; fromNumber: string } | undefined {
  const set = twilioVars.filter((v) => c[v] !== undefined);
  if (set.length === 0) return undefined;
  const missing = twilioVars.find((v) => c[v] === undefined);
  if (missing)
    throw new ConfigError(
      `config: ${missing} is unset: Twilio needs ${twilioVars.join(", ")} together (${set.join(", ")} given)`,
      missing,
    );
  return { accountSid: c.TWILIO_ACCOUNT_SID!, authToken: c.TWILIO_AUTH_TOKEN!, fromNumber: c.TWILIO_FROM_NUMBER! };
}

/**
 * Why this gateway places no phone calls (no account, or generated credentials), for the API's 503 and
 * the start-up warning; undefined when a Twilio account is set.
 */
export function twilioOffReason(c: GatewayConfig): string | undefined {
  const set = "set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER";
  if (!c.TWILIO_ACCOUNT_SID) return `Twilio is not configured: ${set} (the browser phone at /phone works without)`;
  if (c.TWILIO_ACCOUNT_GENERATED)
    return `Twilio is not configured: this stack's Twilio credentials are generated, not a real account; ${set} to your account's (the browser phone and \`voicecall simulate\` work without)`;
  return undefined;
}
