import { createHmac, randomBytes } from "node:crypto";
import { safeEqual } from "./twilio-signature";

/**
 * The per-stream token the gateway puts in `<Parameter name="token">`: proves the stream belongs to
 * this callId + CallSid, and expires. Format: `<expiresAtMs>.<nonce>.<base64url HMAC-SHA256>`.
 */
export function mintStreamToken(
  secret: string,
  callId: string,
  callSid: string,
  ttlMs: number,
  now = Date.now(),
  nonce = randomNonce(),
): string {
  const exp = now + ttlMs;
  return `${exp}.${nonce}.${mac(secret, callId, callSid, exp, nonce)}`;
}

export type TokenCheck =
  { ok: true; expiresAt: number; id: string } | { ok: false; reason: "malformed" | "expired" | "mismatch" };

/** Verify a token for this call; `id` is unique per token, for single-use bookkeeping. */
export function verifyStreamToken(
  secret: string,
  token: string,
  callId: string,
  callSid: string,
  now = Date.now(),
): TokenCheck {
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { ok: false, reason: "malformed" };
  const exp = Number(m[1]);
  if (!safeEqual(mac(secret, callId, callSid, exp, m[2]!), m[3]!)) return { ok: false, reason: "mismatch" };
  if (exp < now) return { ok: false, reason: "expired" };
  return { ok: true, expiresAt: exp, id: m[3]! };
}

function mac(secret: string, callId: string, callSid: string, exp: number, nonce: string): string {
  return createHmac("sha256", secret).update(`${callId}\n${callSid}\n${exp}\n${nonce}`).digest("base64url");
}

function randomNonce(): string {
  return randomBytes(9).toString("base64url");
}
