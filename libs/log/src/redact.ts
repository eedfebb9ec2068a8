import { safeError, scrubCredentials } from "./safe-error";

export const CENSOR = "[redacted]";

/**
 * Keys whose values never reach a log line, at any depth and in any case or spelling (`Authorization`,
 * `xi-api-key`, `api_key`, `authToken`, `TWILIO_AUTH_TOKEN`, `x-twilio-signature`, …), and `pii`.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_\s]/g, "");
  return (
    /(authorization|token|apikey|secret|password|passwd|signature|cookie|credentials?)$/.test(k) ||
    k === "pii" ||
    k === "auth"
  );
}

const MAX_DEPTH = 8;

/**
 * A copy of a log object with secret keys censored at every depth, errors reduced to `SafeError`, and
 * binary data summarised. Cycles and very deep values are cut instead of followed.
 */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Error) return safeError(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${value.byteLength} bytes]`;
  if (seen.has(value)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[too deep]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  if (value instanceof Map) return redactDeep(Object.fromEntries(value), depth, seen);
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = isSecretKey(k) && v !== undefined && v !== null && v !== "" ? CENSOR : redactDeep(v, depth + 1, seen);
  return out;
}

/**
 * The spellings of a secret that can end up in text: as is, JSON-escaped, URL-encoded, base64 and
 * base64url (an `SID:token` pair as a Basic header value). Values shorter than 8 characters are skipped:
 * censoring them would garble ordinary words.
 */
export function secretForms(secrets: readonly (string | undefined)[]): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < 8) continue;
    const b64 = Buffer.from(s).toString("base64");
    for (const f of [
      s,
      JSON.stringify(s).slice(1, -1),
      encodeURIComponent(s),
      b64,
      b64.replace(/=+$/, ""),
      Buffer.from(s).toString("base64url"),
    ])
      forms.add(f);
  }
  // Longest first, so a pair's form goes before the token inside it.
  return [...forms].sort((a, b) => b.length - a.length);
}

/** `text` with every known secret form and every generic credential pattern censored. */
export function scrubText(text: string, forms: readonly string[]): string {
  let t = text;
  for (const f of forms) if (t.includes(f)) t = t.split(f).join(CENSOR);
  return scrubCredentials(t);
}

/**
 * The secret values of a parsed config (every variable whose name names a secret: `API_TOKEN`,
 * `*_API_KEY`, `TWILIO_AUTH_TOKEN`, `STREAM_TOKEN_SECRET`, …) plus the `SID:token` pair Twilio's Basic auth
 * is made of, for `createLogger({ secrets })`.
 */
export function configSecrets(config: Readonly<Record<string, unknown>>): string[] {
  const out = Object.entries(config).flatMap(([k, v]) => (isSecretKey(k) && typeof v === "string" ? [v] : []));
  const sid = config.TWILIO_ACCOUNT_SID;
  const token = config.TWILIO_AUTH_TOKEN;
  if (typeof sid === "string" && typeof token === "string") out.push(`${sid}:${token}`);
  return out;
}
