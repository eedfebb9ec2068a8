import { createSecureContext, type SecureContext } from "node:tls";

const contexts = new Map<string, SecureContext>();

/**
 * One TLS context per trusted CA, shared by every webhook and stream connection. Passing `ca` on each
 * connection makes Node parse the PEM and build a fresh context per handshake: at 100 bench calls that was
 * 3 % of a driver thread, spent where Twilio (other machines) spends nothing of ours. No wire behaviour
 * changes: the same certificates are trusted and every new connection makes its full handshake (each
 * webhook and each stream its own connection: webhooks.ts says why).
 */
export function trustContext(ca: string | Buffer | undefined): SecureContext | undefined {
  if (ca === undefined) return undefined;
  const key = typeof ca === "string" ? ca : ca.toString("latin1");
  let c = contexts.get(key);
  if (!c) contexts.set(key, (c = createSecureContext({ ca })));
  return c;
}
