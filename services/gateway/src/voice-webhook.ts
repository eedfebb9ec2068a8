import { randomUUID } from "node:crypto";
import type { Request, Response } from "express";
import { z } from "zod";
import { mintStreamToken } from "@voicecall/auth";
import { AnsweredBy, CallState, isTerminal, type CallRecord } from "@voicecall/contracts";
import { normalizeE164 } from "./config";
import type { GatewayContext } from "./context";
import { field, type TwilioRequest } from "./twilio-request";
import { connectStreamTwiml, rejectTwiml, retryLaterTwiml, sayHangupTwiml } from "./twiml";

export const CallSid = z.string().regex(/^CA[0-9A-Za-z]{8,64}$/, "must be a CallSid (CA…)");

/** The fields of the voice (Url) request the gateway uses; the rest is ignored. */
export const WebhookParams = z.object({
  CallSid,
  From: z.string().max(128).default(""),
  To: z.string().max(128).default(""),
  CallStatus: CallState.optional(),
  Direction: z.string().max(32).optional(),
  AnsweredBy: AnsweredBy.optional(),
});
export type WebhookParams = z.infer<typeof WebhookParams>;

const QueryParams = z.object({
  callId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  reconnect: z.literal("1").optional(),
  /** `voicecall doctor`: a signed request that gets the TwiML shape of a call and creates nothing. */
  probe: z.literal("1").optional(),
});

/** Flatten repeated form keys to their first value for schema checks. */
export function flat(p: TwilioRequest["params"]): Record<string, string> {
  return Object.fromEntries(Object.keys(p).map((k) => [k, field(p, k)!]));
}

export function sendTwiml(res: Response, twiml: string): void {
  res.status(200).type("text/xml").send(twiml);
}

/**
 * `POST /voice/webhook[?callId=…[&reconnect=1]]`: the TwiML for a call. The first answer per CallSid
 * is cached so a retried or replayed first request gets the very same TwiML (one stream token); the
 * `<Redirect>` after a lost stream carries `reconnect=1` and gets a fresh token.
 */
export function voiceWebhook(ctx: GatewayContext) {
  return async (req: Request, res: Response) => {
    const t = res.locals.twilio as TwilioRequest;
    const p = WebhookParams.safeParse(flat(t.params));
    const q = QueryParams.safeParse(req.query);
    if (!p.success || !q.success) {
      const fields = [...(p.error?.issues ?? []), ...(q.error?.issues ?? [])].map((i) => i.path.join("."));
      ctx.log.warn({ fields }, "webhook parameters invalid");
      res
        .status(400)
        .type("text/plain")
        .send(`invalid parameters: ${fields.join(", ")}`);
      return;
    }
    if (q.data.probe === "1") {
      ctx.log.info("doctor probe webhook");
      // The token is bound to a callId that no call has, so it opens nothing.
      return sendTwiml(res, streamTwiml(ctx, "doctor-probe", p.data.CallSid));
    }
    const replay = !(await ctx.store.firstSeen(`wh:${t.requestHash}`, ctx.tuning.dedupeTtlMs));
    const log = ctx.log.child({ callSid: p.data.CallSid, callId: q.data.callId, replay });
    log.info({ reconnect: q.data.reconnect === "1", direction: p.data.Direction }, "voice webhook");
    const twiml = q.data.callId
      ? await knownCall(ctx, q.data.callId, q.data.reconnect === "1", p.data, t)
      : await inboundCall(ctx, p.data, t);
    sendTwiml(res, twiml);
  };
}

const ttlOfAnswer = (ctx: GatewayContext) =>
  (ctx.config.MAX_DURATION_SECONDS + ctx.config.RING_TIMEOUT_SECONDS) * 1000 + 10 * 60_000;

function streamTwiml(ctx: GatewayContext, callId: string, callSid: string, reconnect = false): string {
  const token = mintStreamToken(
    ctx.config.STREAM_TOKEN_SECRET,
    callId,
    callSid,
    ctx.tuning.streamTokenTtlMs,
    ctx.now(),
  );
  return connectStreamTwiml({
    streamUrl: ctx.urls.streamUrl,
    callId,
    token,
    redirectUrl: ctx.urls.webhook(callId, true),
    statusCallback: ctx.urls.streamStatus(callId),
    pauseSec: reconnect ? ctx.tuning.reconnectPauseSec : 0,
  });
}

export const RECONNECTS_EXHAUSTED =
  "Sorry, we are having technical trouble connecting this call. Please try again later. Goodbye.";

/**
 * The first answer for a CallSid, built once: concurrent duplicates wait for the winner's TwiML and,
 * if it is not there in time, are told to come back (never an empty answer).
 */
async function firstAnswer(
  ctx: GatewayContext,
  callSid: string,
  retryUrl: string,
  build: () => Promise<string>,
): Promise<string> {
  const cached = await ctx.store.cachedWebhookAnswer(callSid);
  if (cached) return cached;
  const claim = `answer:${callSid}`;
  if (await ctx.store.firstSeen(claim, ttlOfAnswer(ctx))) {
    try {
      return await ctx.store.webhookAnswer(callSid, await build(), ttlOfAnswer(ctx));
    } catch (err) {
      await ctx.store.forgetSeen(claim);
      throw err;
    }
  }
  for (let waited = 0; waited < 5_000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    const winner = await ctx.store.cachedWebhookAnswer(callSid);
    if (winner) return winner;
  }
  return retryLaterTwiml(retryUrl);
}

async function knownCall(
  ctx: GatewayContext,
  callId: string,
  reconnect: boolean,
  p: WebhookParams,
  t: TwilioRequest,
): Promise<string> {
  const rec = await ctx.store.getCall(callId);
  const log = ctx.log.child({ callId, callSid: p.CallSid });
  if (!rec || (rec.callSid && rec.callSid !== p.CallSid)) {
    log.warn({ known: !!rec }, "webhook for unknown call");
    return sayHangupTwiml("Sorry, this call could not be connected. Goodbye.");
  }
  if (isTerminal(rec.state)) {
    log.info({ state: rec.state }, "webhook for ended call");
    return sayHangupTwiml("This call has ended. Goodbye.");
  }
  if (!rec.callSid) await ctx.store.linkCallSid(callId, p.CallSid);
  if (p.AnsweredBy) await ctx.lifecycle.amd(callId, p.AnsweredBy, rec.answeredBy);
  // The Url request is made once the call is answered: don't depend on the status callback for it.
  if (p.CallStatus === "in-progress")
    await ctx.lifecycle.apply(callId, "in-progress", "webhook", "", { ...rec, callSid: p.CallSid });
  if (!reconnect) return firstAnswer(ctx, p.CallSid, t.url, async () => streamTwiml(ctx, callId, p.CallSid));
  // A reconnect after a lost stream: a fresh token, except for retries of this same delivery.
  const key = t.idempotencyToken ? `${p.CallSid}:reconnect:${t.idempotencyToken}` : undefined;
  const cached = key ? await ctx.store.cachedWebhookAnswer(key) : null;
  if (cached) return cached;
  // Every lost stream comes back here; one that fails every time (signature, TLS, no media worker) must
  // not become a silent, billed loop until TimeLimit.
  const n = await ctx.store.countReconnect(callId, ctx.tuning.reconnectWindowMs);
  if (n > ctx.tuning.maxReconnects) {
    const cause = rec.lastStreamError ?? (rec.streamCount === 0 ? "no stream ever started" : "streams keep ending");
    log.error(
      { reconnects: n, windowMs: ctx.tuning.reconnectWindowMs, streams: rec.streamCount, cause },
      "stream reconnects exhausted, hanging up",
    );
    await ctx.lifecycle.apply(callId, "completed", "webhook", `stream reconnects exhausted: ${cause}`.slice(0, 300));
    const bye = sayHangupTwiml(RECONNECTS_EXHAUSTED);
    return key ? ctx.store.webhookAnswer(key, bye, ctx.tuning.dedupeTtlMs) : bye;
  }
  log.info({ reconnects: n }, "stream reconnect requested");
  const twiml = streamTwiml(ctx, callId, p.CallSid, true);
  return key ? ctx.store.webhookAnswer(key, twiml, ctx.tuning.dedupeTtlMs) : twiml;
}

type InboundVerdict = { ok: true } | { ok: false; reason: string; twiml: string };

async function inboundVerdict(ctx: GatewayContext, from: string): Promise<InboundVerdict> {
  const c = ctx.config;
  if (c.INBOUND_POLICY === "disabled") return { ok: false, reason: "inbound-disabled", twiml: rejectTwiml("rejected") };
  if (c.INBOUND_POLICY === "allowlist" && !c.INBOUND_ALLOW_FROM.includes(from))
    return { ok: false, reason: "caller-not-allowed", twiml: rejectTwiml("rejected") };
  if ((await ctx.store.activeCallIds()).length >= c.MAX_CONCURRENT_CALLS)
    return { ok: false, reason: "max-concurrent-calls", twiml: rejectTwiml("busy") };
  return { ok: true };
}

async function inboundCall(ctx: GatewayContext, p: WebhookParams, t: TwilioRequest): Promise<string> {
  const existing = await ctx.store.callIdBySid(p.CallSid);
  const prev: CallRecord | null = existing ? await ctx.store.getCall(existing) : null;
  if (prev && isTerminal(prev.state)) {
    const cached = await ctx.store.cachedWebhookAnswer(p.CallSid);
    return prev.state === "rejected" && cached ? cached : sayHangupTwiml("This call has ended. Goodbye.");
  }
  return firstAnswer(ctx, p.CallSid, t.url, async () => {
    const from = normalizeE164(p.From);
    const verdict = await inboundVerdict(ctx, from);
    const callId = randomUUID();
    const log = ctx.log.child({ callId, callSid: p.CallSid });
    const rec = await ctx.store.createCall(
      {
        callId,
        state: "ringing",
        direction: "inbound",
        mode: "conversation",
        engine: ctx.config.VOICE_ENGINE,
        from,
        to: p.To,
        callSid: p.CallSid,
        greeting: verdict.ok ? ctx.config.INBOUND_GREETING : undefined,
      },
      ctx.now(),
    );
    if (!verdict.ok) {
      log.warn({ policy: ctx.config.INBOUND_POLICY, reason: verdict.reason, pii: { from } }, "inbound call rejected");
      await ctx.lifecycle.apply(callId, "rejected", "inbound-policy", verdict.reason, rec);
      return verdict.twiml;
    }
    log.info({ policy: ctx.config.INBOUND_POLICY, pii: { from } }, "inbound call accepted");
    ctx.lifecycle.created(rec);
    // Answering with <Connect> answers the call; some inbound flows never send an "answered" callback.
    await ctx.lifecycle.apply(callId, "in-progress", "webhook", "answered-by-twiml", rec);
    return streamTwiml(ctx, callId, p.CallSid);
  });
}
