import type { Request, Response } from "express";
import { z } from "zod";
import { AnsweredBy, CallState } from "@voicecall/contracts";
import type { GatewayContext } from "./context";
import type { TwilioRequest } from "./twilio-request";
import { emptyTwiml } from "./twiml";
import { CallSid, flat, sendTwiml } from "./voice-webhook";

const StatusParams = z.object({
  CallSid,
  CallStatus: CallState.exclude(["rejected"]),
  SipResponseCode: z.string().max(8).optional(),
  AnsweredBy: AnsweredBy.optional(),
});
const AmdParams = z.object({ CallSid, AnsweredBy });
const Query = z.object({
  callId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
});

/**
 * True the first time this callback is seen: Twilio retries deliveries (same idempotency token) and an
 * attacker may replay a captured one (same signed content). Both keys are recorded.
 */
async function firstDelivery(ctx: GatewayContext, t: TwilioRequest): Promise<boolean> {
  const seen = [`cb:${t.requestHash}`];
  if (t.idempotencyToken) seen.push(`idem:${t.idempotencyToken}`);
  return ctx.store.firstSeenAll(seen, ctx.tuning.dedupeTtlMs);
}

function invalid(ctx: GatewayContext, res: Response, issues: z.ZodIssue[]): void {
  const fields = issues.map((i) => i.path.join("."));
  ctx.log.warn({ fields }, "callback parameters invalid");
  res
    .status(400)
    .type("text/plain")
    .send(`invalid parameters: ${fields.join(", ")}`);
}

/** The call a callback is about: by `callId` in the query (ours), else by CallSid; they must agree. */
async function resolveCall(ctx: GatewayContext, req: Request, callSid: string) {
  const q = Query.safeParse(req.query);
  const callId = (q.success ? q.data.callId : undefined) ?? (await ctx.store.callIdBySid(callSid));
  if (!callId) return null;
  const rec = await ctx.store.getCall(callId);
  if (!rec || (rec.callSid && rec.callSid !== callSid)) return null;
  if (!rec.callSid) await ctx.store.linkCallSid(callId, callSid);
  return { ...rec, callSid };
}

/** `POST /voice/status[?callId=…]`: call progress → the atomic transition → events. */
export function statusCallback(ctx: GatewayContext) {
  return async (req: Request, res: Response) => {
    const t = res.locals.twilio as TwilioRequest;
    const p = StatusParams.safeParse(flat(t.params));
    if (!p.success) return invalid(ctx, res, p.error.issues);
    const rec = await resolveCall(ctx, req, p.data.CallSid);
    if (!rec) {
      ctx.log.warn({ callSid: p.data.CallSid }, "status callback for unknown call");
      res.status(404).type("text/plain").send("unknown call");
      return;
    }
    if (!(await firstDelivery(ctx, t))) {
      ctx.log.info({ callId: rec.callId, status: p.data.CallStatus }, "duplicate status callback ignored");
      return sendTwiml(res, emptyTwiml());
    }
    const reason =
      p.data.SipResponseCode && p.data.CallStatus !== "in-progress"
        ? `${p.data.CallStatus} sip=${p.data.SipResponseCode}`
        : "";
    if (p.data.AnsweredBy) await ctx.lifecycle.amd(rec.callId, p.data.AnsweredBy, rec.answeredBy);
    await ctx.lifecycle.apply(rec.callId, p.data.CallStatus, "status-callback", reason, rec);
    sendTwiml(res, emptyTwiml());
  };
}

const StreamStatusParams = z.object({
  CallSid,
  StreamSid: z.string().min(1).max(64),
  StreamEvent: z.enum(["stream-started", "stream-stopped", "stream-error"]),
  StreamError: z.string().max(1000).optional(),
});

/**
 * `POST /voice/status/stream?callId=…`: the `<Stream statusCallback>`. Twilio's only word on a stream
 * that never reached media (handshake refused, TLS, no worker): a `stream-error` is logged as an error,
 * kept on the record (the cause named when reconnects run out) and added to the call's timeline.
 */
export function streamStatusCallback(ctx: GatewayContext) {
  return async (req: Request, res: Response) => {
    const t = res.locals.twilio as TwilioRequest;
    const p = StreamStatusParams.safeParse(flat(t.params));
    if (!p.success) return invalid(ctx, res, p.error.issues);
    const rec = await resolveCall(ctx, req, p.data.CallSid);
    if (!rec) {
      ctx.log.warn({ callSid: p.data.CallSid }, "stream status callback for unknown call");
      res.status(404).type("text/plain").send("unknown call");
      return;
    }
    const log = ctx.log.child({ callId: rec.callId, callSid: p.data.CallSid, streamSid: p.data.StreamSid });
    if (!(await firstDelivery(ctx, t))) return sendTwiml(res, emptyTwiml());
    if (p.data.StreamEvent === "stream-error") {
      const error = p.data.StreamError ?? "(no detail)";
      log.error({ streamError: error }, "twilio reports a stream error");
      await ctx.store.update(rec.callId, { lastStreamError: error });
      await ctx.store.note(rec.callId, {
        ts: ctx.now(),
        state: rec.state,
        source: "stream-status",
        reason: `stream-error: ${error}`.slice(0, 300),
      });
    } else log.info({ event: p.data.StreamEvent }, "stream status");
    sendTwiml(res, emptyTwiml());
  };
}

/** `POST /voice/amd?callId=…`: the async answering-machine result. */
export function amdCallback(ctx: GatewayContext) {
  return async (req: Request, res: Response) => {
    const t = res.locals.twilio as TwilioRequest;
    const p = AmdParams.safeParse(flat(t.params));
    if (!p.success) return invalid(ctx, res, p.error.issues);
    const rec = await resolveCall(ctx, req, p.data.CallSid);
    if (!rec) {
      ctx.log.warn({ callSid: p.data.CallSid }, "amd callback for unknown call");
      res.status(404).type("text/plain").send("unknown call");
      return;
    }
    if (await firstDelivery(ctx, t)) await ctx.lifecycle.amd(rec.callId, p.data.AnsweredBy, rec.answeredBy);
    sendTwiml(res, emptyTwiml());
  };
}
