import { z } from "zod";
import { ConfigError, commonFields, fields, parseConfig } from "@voicecall/config";
import { CallEngine, E164 } from "@voicecall/contracts";

const accountSid = z.string().regex(/^AC[0-9a-fA-F]{32}$/, "must be AC followed by 32 hex digits").describe("e.g. AC0123456789abcdef0123456789abcdef");
const seconds = (def: number) => z.coerce.number().int().positive().default(def).describe("seconds, e.g. 60");

/** Comma list → trimmed non-empty entries. */
const list = z
  .string()
  .default("")
  .transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

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
  TWILIO_AUTH_TOKEN: z.string().min(8, "TWILIO_AUTH_TOKEN looks too short").optional().describe("the account's auth token"),
  /** Optional: send REST calls here instead of https://api.twilio.com (the simulator). */
  TWILIO_API_BASE_URL: z
    .string()
    .url("must be a URL")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional()
    .describe("e.g. http://127.0.0.1:4010"),
  TWILIO_FROM_NUMBER: E164.optional().describe("e.g. +14155550100"),
  API_TOKEN: fields.secret("API_TOKEN"),
  STREAM_TOKEN_SECRET: fields.secret("STREAM_TOKEN_SECRET"),
  TWILIO_SKIP_SIGNATURE: fields.bool.default("false"),
  INBOUND_POLICY: z.enum(["disabled", "allowlist", "open"]).default("disabled"),
  INBOUND_ALLOW_FROM: list.transform((xs) => xs.map(normalizeE164)).pipe(z.array(E164)).describe("comma list of E.164 numbers, e.g. +14155550100,+14155550101"),
  INBOUND_GREETING: z.string().min(1).max(1000).default("Hello, you are speaking with an automated assistant. How can I help?"),
  MAX_CONCURRENT_CALLS: z.coerce.number().int().positive().default(20).describe("e.g. 20"),
  RING_TIMEOUT_SECONDS: seconds(30).pipe(z.number().max(600)),
  MAX_DURATION_SECONDS: seconds(1800).pipe(z.number().max(14_400)),
  /** Peers whose X-Forwarded-For is believed (IPs or IPv4 CIDRs); the signature URL never uses headers. */
  TRUSTED_PROXIES: list.describe("e.g. 172.18.0.0/16,127.0.0.1"),
  CALL_RETENTION_MS: fields.ms(7 * 24 * 3600_000),
  /** How calls are voiced unless `POST /api/calls` says otherwise (inbound calls too): `realtime` needs media's REALTIME_* settings. */
  VOICE_ENGINE: CallEngine.default("pipeline").describe("pipeline|realtime"),
});

export type GatewayConfig = Readonly<z.infer<typeof GatewayConfigSchema>>;

export function parseGatewayConfig(env: Record<string, string | undefined>): GatewayConfig {
  const c = parseConfig(GatewayConfigSchema, env);
  twilioSettings(c);
  return c;
}

const twilioVars = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"] as const;

/** The Twilio account, or undefined when none is configured; a partial set is a config error. */
export function twilioSettings(c: GatewayConfig): { accountSid: string; authToken: string; fromNumber: string } | undefined {
  const set = twilioVars.filter((v) => c[v] !== undefined);
  if (set.length === 0) return undefined;
  const missing = twilioVars.find((v) => c[v] === undefined);
  if (missing) throw new ConfigError(`config: ${missing} is unset: Twilio needs ${twilioVars.join(", ")} together (${set.join(", ")} given)`, missing);
  return { accountSid: c.TWILIO_ACCOUNT_SID!, authToken: c.TWILIO_AUTH_TOKEN!, fromNumber: c.TWILIO_FROM_NUMBER! };
}
