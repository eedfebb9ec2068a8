import { createHmac } from "node:crypto";

/** Header carrying the delivery's signature: `t=<unix seconds>,v1=<hex>`. */
export const SIGNATURE_HEADER = "voicecall-signature";

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp is signed with the
 * body, so a receiver that refuses old timestamps (README: 5 minutes) refuses replays.
 */
export function signEvent(secret: string, body: string, nowSec: number): string {
  const t = Math.floor(nowSec);
  const v1 = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  return `t=${t},v1=${v1}`;
}
