/**
 * Errors from outside clients (axios inside twilio-node, fetch/undici, ws) carry their request: headers
 * with `Authorization`, Basic auth, URLs with keys in them. `safeError` keeps only what is safe and useful
 * — type, message, HTTP status, vendor or system code, the URL without credentials, and the cause chain
 * reduced the same way — so nothing else of the error can reach a log line or an API answer.
 */
export interface SafeError {
  type: string;
  message: string;
  status?: number;
  code?: string | number;
  url?: string;
  cause?: SafeError;
  stack?: string;
}

/** Query parameters that carry credentials (Deepgram's `token`, `api_key`, `key`, signed-URL signatures). */
const SECRET_PARAM = /^(api[-_]?key|key|token|access[-_]?token|auth|authorization|password|secret|signature|sig)$/i;

/** `url` without user:password and with credential-bearing query values blanked; `undefined` if not a URL. */
export function safeUrl(url: unknown): string | undefined {
  if (typeof url !== "string" || url === "") return undefined;
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.set(k, "redacted");
    return u.toString();
  } catch {
    return scrubCredentials(url);
  }
}

/**
 * Credentials that can sit in free text whatever the secret: auth header values (`Basic …`, `Bearer …`,
 * `Token …`), user:password in URLs, and credential-bearing query values. No quotes or backslashes are
 * matched, so this is safe on JSON text too.
 */
export function scrubCredentials(text: string): string {
  return text
    .replace(/\b(Basic|Bearer|Token)(\s+|%20)[A-Za-z0-9+/=._~-]{8,}/g, "$1$2[redacted]")
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@"'\\]+@/gi, "$1[redacted]@")
    .replace(
      /([?&](?:api[-_]?key|key|token|access[-_]?token|auth|password|secret|signature|sig)=)[^&\s"'\\]+/gi,
      "$1[redacted]",
    );
}

const MAX_MESSAGE = 300;

/** Reduce any thrown value to a `SafeError` (cause chain up to three deep). */
export function safeError(err: unknown, depth = 0): SafeError {
  if (err === null || typeof err !== "object")
    return { type: typeof err, message: scrubCredentials(String(err)).slice(0, MAX_MESSAGE) };
  const e = err as Record<string, unknown> & {
    response?: { status?: unknown };
    config?: { url?: unknown; baseURL?: unknown };
  };
  const out: SafeError = {
    type: typeof e.name === "string" ? e.name : (err.constructor?.name ?? "Error"),
    message: scrubCredentials(String(e.message ?? "")).slice(0, MAX_MESSAGE),
  };
  const status = [e.status, e.statusCode, e.response?.status].find((s) => typeof s === "number");
  if (typeof status === "number") out.status = status;
  if (typeof e.code === "string" || typeof e.code === "number") out.code = e.code;
  const url = safeUrl(e.url ?? e.uri ?? e.config?.url);
  if (url) out.url = url;
  if (e.cause !== undefined && depth < 3) out.cause = safeError(e.cause, depth + 1);
  // Only the frames: the first line repeats the message, which was scrubbed above.
  if (typeof e.stack === "string" && depth === 0) out.stack = e.stack.split("\n").slice(1, 8).join("\n");
  return out;
}

/** An error's one-line reason for a person: message, then the innermost system code (e.g. `fetch failed (ECONNREFUSED)`). */
export function errorReason(err: unknown): string {
  const s = safeError(err);
  let code = s.code;
  for (let c = s.cause; c; c = c.cause) if (c.code !== undefined) code = c.code;
  return code !== undefined && !s.message.includes(String(code)) ? `${s.message} (${code})` : s.message;
}

/**
 * A vendor's error text from its error body, for messages: the `message`/`detail`/`err_msg` field of a JSON
 * body (OpenAI, ElevenLabs, Deepgram, Twilio shapes), else the text; `secrets` (the key the client sent)
 * and credentials scrubbed, at most 200 chars.
 */
export function vendorMessage(body: string, secrets: readonly (string | undefined)[] = []): string {
  let text = body;
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    const pick = (v: unknown): string | undefined => {
      if (typeof v === "string") return v;
      if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        return pick(o.message) ?? pick(o.detail) ?? pick(o.err_msg);
      }
      return undefined;
    };
    text = pick(j.error) ?? pick(j) ?? body;
  } catch {
    /* not JSON: the text itself */
  }
  // Some vendors echo the key they were sent ("Incorrect API key provided: sk-…").
  for (const k of secrets) if (k && k.length >= 6) text = text.split(k).join("[redacted]");
  return scrubCredentials(text.replace(/\s+/g, " ").trim()).slice(0, 200);
}
