import { createHash } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Logger } from "@voicecall/log";
import { validTwilioSignature } from "@voicecall/auth";
import { normalizeIp } from "./client-ip";
import type { RateLimiter } from "./rate-limit";

export type FormParams = Record<string, string | string[]>;

/** What a verified Twilio request carries for the handlers (in `res.locals.twilio`). */
export interface TwilioRequest {
  params: FormParams;
  /** The URL the signature was checked against: PUBLIC_URL + path and query. */
  url: string;
  /** Stable hash of the signed content: identical replays have the same one. */
  requestHash: string;
  idempotencyToken?: string;
}

export interface VerifyOptions {
  /** Unset when no Twilio account is configured: every Twilio request then gets 503. */
  authToken: string | undefined;
  publicUrl: string;
  skipSignature: boolean;
  /** Largest accepted body (Twilio's are ~2 kB). */
  maxBodyBytes: number;
  /** How long a client may take to send the body. */
  bodyTimeoutMs: number;
  /** Counts failed checks per client IP; when exhausted, requests get 429 before any work. */
  failures: RateLimiter;
  log: Logger;
}

export class FormError extends Error {
  override name = "FormError";
}

/** Strict `application/x-www-form-urlencoded` decoding: bad percent-escapes are an error, not garbage. */
export function parseForm(body: string): FormParams {
  const out: FormParams = {};
  if (body.length === 0) return out;
  for (const part of body.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, " "));
      value = decodeURIComponent(rawValue.replace(/\+/g, " "));
    } catch {
      throw new FormError("bad percent-encoding");
    }
    if (name === "") throw new FormError("empty field name");
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

export function requestHash(url: string, params: FormParams): string {
  const h = createHash("sha256").update(url);
  for (const k of Object.keys(params).sort()) {
    const v = params[k]!;
    for (const x of Array.isArray(v) ? v : [v]) h.update(`\n${k}=${x}`);
  }
  return h.digest("base64url");
}

function readBody(req: Request, maxBytes: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => fail(Object.assign(new Error("body timeout"), { status: 408 })), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      req.removeAllListeners("data");
      req.resume();
      reject(err);
    };
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) return fail(Object.assign(new Error("body too large"), { status: 413 }));
      chunks.push(c);
    });
    req.once("end", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.once("error", (e) => fail(Object.assign(e, { status: 400 })));
  });
}

/**
 * Read (and drop) what the client is still sending, bounded in bytes and time, before an early answer.
 * Closing with unread bytes makes the kernel reset the connection, and the proxy in front (Caddy) then
 * reports 502 and counts our gateway as failed — every other client, Twilio included, got 503 for
 * `fail_duration` because one client sent an oversized body.
 */
function settleBody(req: Request, maxBytes = 2 * 1024 * 1024, maxMs = 2000): Promise<void> {
  if (req.complete || req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let n = 0;
    const done = () => {
      clearTimeout(timer);
      req.off("data", onData);
      resolve();
    };
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > maxBytes) done();
    };
    const timer = setTimeout(done, maxMs);
    req.on("data", onData);
    req.once("end", done);
    req.once("error", done);
    req.resume();
  });
}

/**
 * Verify a Twilio webhook before any handler runs, cheapest checks first: failure budget, signature
 * header present, content type, declared length, then the body (size- and time-limited), strict form
 * decoding, and the signature over PUBLIC_URL + the request's path and query (never a request header).
 *
 * A client over its failure budget gets 429 at once when it sends no signature; a request that carries
 * one is still checked and passes if it is valid. Behind a proxy that is not in TRUSTED_PROXIES every
 * client has the proxy's address, and someone else's forgeries must not lock Twilio's own requests out.
 */
export function verifyTwilioRequest(o: VerifyOptions): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const ip = normalizeIp(req.ip);
    const reject = async (status: number, reason: string, countAsFailure: boolean) => {
      if (countAsFailure) o.failures.hit(ip);
      o.log.warn({ status, reason, path: req.path, ip }, "twilio request rejected");
      await settleBody(req);
      res.set("connection", "close").status(status).type("text/plain").send(reason);
    };
    const signature = req.get("x-twilio-signature");
    const exhausted = o.failures.exhausted(ip);
    if (exhausted && (!signature || o.skipSignature)) return reject(429, "too many failed requests", false);
    if (!o.authToken && !o.skipSignature) return reject(503, "Twilio is not configured on this gateway", false);
    // Over budget, every failure is answered 429 (and still counted).
    const fail = (status: number, reason: string) => reject(exhausted ? 429 : status, reason, true);
    if (o.skipSignature)
      o.log.warn({ path: req.path }, "TWILIO_SKIP_SIGNATURE=true: request accepted without signature check");
    else if (!signature) return fail(403, "missing signature");
    if (!req.is("application/x-www-form-urlencoded")) return fail(415, "expected application/x-www-form-urlencoded");
    const declared = Number(req.get("content-length") ?? "0");
    if (declared > o.maxBodyBytes) return fail(413, "body too large");
    let params: FormParams;
    try {
      params = parseForm(await readBody(req, o.maxBodyBytes, o.bodyTimeoutMs));
    } catch (err) {
      const status = (err as { status?: number }).status ?? 400;
      return fail(status, err instanceof FormError ? `malformed form: ${err.message}` : (err as Error).message);
    }
    const url = o.publicUrl + req.originalUrl;
    if (!o.skipSignature && !validTwilioSignature(o.authToken!, signature, url, params))
      return fail(403, "invalid signature");
    const t: TwilioRequest = {
      params,
      url,
      requestHash: requestHash(url, params),
      idempotencyToken: req.get("i-twilio-idempotency-token") || undefined,
    };
    res.locals.twilio = t;
    next();
  };
}

/** The single value of a form field (first one if repeated). */
export function field(p: FormParams, name: string): string | undefined {
  const v = p[name];
  return Array.isArray(v) ? v[0] : v;
}
