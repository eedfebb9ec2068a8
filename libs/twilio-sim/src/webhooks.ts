import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import { twilioSignature } from "@voicecall/auth";
import { trustContext } from "./tls-trust";
import type { RequestOptions as HttpsRequestOptions } from "node:https";
import type { ConnectionOptions } from "node:tls";

/** What kind of request Twilio made: the voice Url, a status callback, an action, … */
export type WebhookKind =
  | "voice"
  | "fallback"
  | "status"
  | "amd"
  | "stream-status"
  | "redirect"
  | "connect-action"
  | "gather-action"
  | "dial-action";

/** One request the simulator made to the app, and what the app answered. */
export interface WebhookRecord {
  kind: WebhookKind;
  callSid?: string;
  method: "GET" | "POST";
  /** The URL as configured (the one Twilio would request). */
  url: string;
  /** The exact string that was signed. */
  signedUrl: string;
  signature: string;
  params: Record<string, string>;
  idempotencyToken: string;
  /** 1 for the first delivery, 2 for its retry (same token). */
  attempt: number;
  /** HTTP status, 0 when there was no response (network error, timeout). */
  status: number;
  contentType?: string;
  body: string;
  /** Twilio error code when the request failed: 11200 retrieval failure, 11205 timeout/connection. */
  errorCode?: number;
  error?: string;
  at: number;
  ms: number;
}

export interface WebhookOptions {
  authToken: string;
  /** Extra CA (PEM), e.g. Caddy's local root, for https URLs. */
  ca?: string | Buffer;
  /** Give up after this long (Twilio: 15 s, error 11205). */
  timeoutMs?: number;
  /** Twilio drops the port of https voice URLs when signing (security docs); knob for the other behaviour. */
  dropHttpsPort?: boolean;
  /** Route the request elsewhere while signing/Host-ing the configured URL (e.g. public name → Caddy on loopback). */
  route?: (url: URL) => URL;
}

/** The string Twilio signs for a request to `url`: https voice URLs lose an explicit port. */
export function signingUrl(url: string, dropHttpsPort = true): string {
  const u = new URL(url);
  if (dropHttpsPort && u.protocol === "https:" && u.port) {
    u.port = "";
    return u.toString();
  }
  return url;
}

/**
 * Send one signed Twilio webhook (form POST, or GET with params in the query string), as
 * Twilio does: `X-Twilio-Signature`, `I-Twilio-Idempotency-Token`, `User-Agent: TwilioProxy/1.1`.
 * Never throws: failures come back as a record with `status: 0` and an `errorCode`. A retry passes the
 * first attempt's `retry` (its token and attempt number).
 */
export async function sendWebhook(
  o: WebhookOptions,
  kind: WebhookKind,
  method: "GET" | "POST",
  url: string,
  params: Record<string, string>,
  callSid?: string,
  retry?: { idempotencyToken: string; attempt: number },
): Promise<WebhookRecord> {
  const at = Date.now();
  let target = url;
  if (method === "GET") {
    const u = new URL(url);
    for (const [k, v] of Object.entries(params)) u.searchParams.append(k, v);
    target = u.toString();
  }
  const signedUrl = signingUrl(target, o.dropHttpsPort ?? true);
  const signature = twilioSignature(o.authToken, signedUrl, method === "POST" ? params : {});
  const idempotencyToken = retry?.idempotencyToken ?? `${randomUUID()}-${at}`;
  const rec: WebhookRecord = {
    kind,
    callSid,
    method,
    url: target,
    signedUrl,
    signature,
    params,
    idempotencyToken,
    attempt: retry?.attempt ?? 1,
    status: 0,
    body: "",
    at,
    ms: 0,
  };
  const body = method === "POST" ? new URLSearchParams(params).toString() : "";
  const u = new URL(target);
  const dest = o.route ? o.route(new URL(target)) : u;
  const headers: Record<string, string> = {
    host: u.host,
    "x-twilio-signature": signature,
    "i-twilio-idempotency-token": idempotencyToken,
    "user-agent": "TwilioProxy/1.1",
    accept: "*/*",
    "cache-control": "max-age=259200",
  };
  if (method === "POST") {
    headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8";
    headers["content-length"] = String(Buffer.byteLength(body));
  }
  const req = dest.protocol === "https:" ? httpsRequest : httpRequest;
  await new Promise<void>((done) => {
    const options: HttpsRequestOptions & Pick<ConnectionOptions, "secureContext"> = {
      method,
      hostname: dest.hostname,
      port: dest.port || undefined,
      path: u.pathname + u.search,
      headers,
      secureContext: trustContext(o.ca),
      servername: isIP(u.hostname) ? undefined : u.hostname,
      timeout: o.timeoutMs ?? 15_000,
      // A new connection (TCP, and TLS for https) per webhook, closed after it. Whether Twilio reuses
      // webhook connections is not documented (../shared/reference/twilio-wire.md is silent), so the
      // simulator takes the less forgiving choice: every webhook pays its full handshake at the app's
      // edge, as a first request from one of Twilio's many hosts would. Node's global agent would keep
      // the socket alive between one call's webhooks and hide that cost.
      agent: false,
    };
    const r = req(options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        rec.status = res.statusCode ?? 0;
        rec.contentType = res.headers["content-type"];
        rec.body = Buffer.concat(chunks).toString("utf8");
        if (rec.status < 200 || rec.status >= 300) {
          rec.errorCode = 11200;
          rec.error = `HTTP retrieval failure: status ${rec.status}`;
        }
        done();
      });
      res.on("error", (e) => {
        rec.errorCode = 11200;
        rec.error = e.message;
        done();
      });
    });
    r.on("timeout", () => r.destroy(new Error("HTTP communication total time out triggered")));
    r.on("error", (e) => {
      rec.errorCode = 11205;
      rec.error = `HTTP connection failure: ${e.message}`;
      done();
    });
    r.end(body);
  });
  rec.ms = Date.now() - at;
  return rec;
}
