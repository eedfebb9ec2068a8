import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Twilio's X-Twilio-Signature: base64(HMAC-SHA1(authToken, url + sorted(name+value)...)).
 * `params` are the decoded form fields (arrays for repeated keys). Our own implementation so the
 * simulator and the validators are not circular with the twilio library; tests cross-check both.
 */
export function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string | string[]> = {},
): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const v = params[name]!;
    const values = Array.isArray(v) ? [...new Set(v)].sort() : [v];
    for (const value of values) data += name + value;
  }
  return createHmac("sha1", authToken).update(Buffer.from(data, "utf8")).digest("base64");
}

/** Constant-time string compare (false on length mismatch without leaking where). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/**
 * Validate a signature against the URL Twilio used. Accepts the URL as given and, like Twilio's
 * own helper, with/without the default port; for wss handshakes also with a trailing slash.
 */
export function validTwilioSignature(
  authToken: string,
  signature: string | undefined,
  url: string,
  params: Record<string, string | string[]> = {},
): boolean {
  if (!signature) return false;
  const candidates = new Set<string>([url]);
  // Twilio drops the port of https voice URLs when signing; `new URL` would hide an explicit :443.
  const m = /^([a-z]+:\/\/[^/:?#]+)(:\d+)?(.*)$/i.exec(url);
  if (m) {
    candidates.add(m[1]! + m[3]!);
    if (!m[2]) candidates.add(`${m[1]}:${url.startsWith("http:") || url.startsWith("ws:") ? 80 : 443}${m[3]}`);
  }
  for (const c of [...candidates]) if (c.startsWith("wss:") && !c.endsWith("/")) candidates.add(c + "/");
  for (const c of candidates) if (safeEqual(twilioSignature(authToken, c, params), signature)) return true;
  return false;
}
