import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { dependencyGate } from "@voicecall/runtime";
import {
  CallEngine,
  CallEvent,
  CallMode,
  CallState,
  PhoneAddress,
  E164,
  isTerminal,
  subjects,
  type CallRecord,
} from "@voicecall/contracts";
import { normalizeIp } from "./client-ip";
import { requireBearer } from "./bearer";
import { httpUrl, twilioOffReason } from "./config";
import type { GatewayContext } from "./context";
import { hangupCall } from "./call-control";
import { ContinueBody, continueCall } from "./call-continue";
import { RateLimiter } from "./rate-limit";
import { TwilioFailure, twilioAnswer } from "./twilio-failure";

export const CreateCallBody = z
  .object({
    to: PhoneAddress,
    from: E164.optional(),
    mode: CallMode.default("conversation"),
    /** `pipeline` (STT → LLM → TTS) or `realtime` (a speech-to-speech model bridged by media); default VOICE_ENGINE. */
    engine: CallEngine.optional(),
    greeting: z.string().min(1).max(1000).optional(),
    /** Notify mode: what to say before hanging up. */
    message: z.string().min(1).max(2000).optional(),
    /** Agent options (system prompt, voice, …), kept as JSON on the call record for the agent. */
    agent: z.record(z.unknown()).optional(),
    machineDetection: z.enum(["Enable", "DetectMessageEnd"]).optional(),
    /** AMD mode when machineDetection is set: async (default, the call connects at once) or sync. */
    asyncAmd: z.boolean().default(true),
    voicemailMessage: z.string().min(1).max(2000).optional(),
    /** This call's events go here instead of EVENT_WEBHOOK_URL (signed with EVENT_WEBHOOK_SECRET). */
    eventWebhookUrl: httpUrl.optional(),
  })
  .strict()
  .refine((b) => b.mode !== "notify" || b.message || b.greeting, {
    message: "notify mode needs message",
    path: ["message"],
  });

const SayBody = z.object({ text: z.string().min(1).max(2000) }).strict();
const ListQuery = z.object({
  state: z
    .union([
      z.literal("active"),
      CallState.exclude(["completed", "busy", "no-answer", "failed", "canceled", "rejected"]),
    ])
    .default("active"),
});
const CallIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

function badRequest(res: Response, err: z.ZodError): void {
  const fields = [...new Set(err.issues.map((i) => i.path.join(".") || "body"))];
  res.status(400).json({
    error: "invalid request",
    fields,
    issues: err.issues.map((i) => ({ field: i.path.join("."), message: i.message })),
  });
}

/** `/api/calls…`: the call-control API, behind a bearer token (constant-time compare) and a rate limit. */
export function callsApi(ctx: GatewayContext): Router {
  const r = express.Router();
  const limiter = new RateLimiter(ctx.tuning.apiRatePerMinute, 60_000, ctx.now);
  r.use((req: Request, res: Response, next: NextFunction) => {
    if (!limiter.hit(normalizeIp(req.ip))) return void res.status(429).json({ error: "rate limited" });
    requireBearer(ctx.config.API_TOKEN)(req, res, next);
  });
  // Every route below reads Redis or publishes on NATS.
  r.use(dependencyGate({ bus: ctx.bus, redis: ctx.store.redis }));
  r.use(express.json({ limit: "32kb" }));

  r.post("/", async (req, res) => {
    const b = CreateCallBody.safeParse(req.body ?? {});
    if (!b.success) return badRequest(res, b.error);
    if ((await ctx.store.activeCallIds()).length >= ctx.config.MAX_CONCURRENT_CALLS) {
      return void res.status(429).json({ error: "too many concurrent calls", limit: ctx.config.MAX_CONCURRENT_CALLS });
    }
    const d = b.data;
    if (d.eventWebhookUrl && !ctx.config.EVENT_WEBHOOK_SECRET) {
      return void res.status(400).json({
        error: "eventWebhookUrl needs EVENT_WEBHOOK_SECRET set on the gateway (deliveries are signed)",
        fields: ["eventWebhookUrl"],
      });
    }
    const off = twilioOffReason(ctx.config);
    if (off || !ctx.config.TWILIO_FROM_NUMBER)
      return void res.status(503).json({ error: off, reason: "not-configured" });
    const callId = randomUUID();
    const from = d.from ?? ctx.config.TWILIO_FROM_NUMBER;
    const rec = await ctx.store.createCall(
      {
        callId,
        direction: "outbound",
        mode: d.mode,
        engine: d.engine ?? ctx.config.VOICE_ENGINE,
        from,
        to: d.to,
        greeting: d.mode === "notify" ? (d.message ?? d.greeting) : d.greeting,
        voicemailMessage: d.voicemailMessage,
        machineDetection: d.machineDetection,
        agentOptions: d.agent ? JSON.stringify(d.agent) : undefined,
        eventWebhookUrl: d.eventWebhookUrl,
      },
      ctx.now(),
    );
    const log = ctx.log.child({ callId });
    ctx.lifecycle.created(rec);
    try {
      const call = await ctx.twilio.create({
        to: d.to,
        from,
        url: ctx.urls.webhook(callId),
        statusCallback: ctx.urls.status(callId),
        statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
        timeout: ctx.config.RING_TIMEOUT_SECONDS,
        timeLimit: ctx.config.MAX_DURATION_SECONDS,
        ...(d.machineDetection
          ? {
              machineDetection: d.machineDetection,
              ...(d.asyncAmd ? { asyncAmd: "true" as const, asyncAmdStatusCallback: ctx.urls.amd(callId) } : {}),
            }
          : {}),
      });
      const current = await ctx.store.getCall(callId);
      if (!current?.callSid) await ctx.store.linkCallSid(callId, call.sid);
      log.info({ callSid: call.sid, mode: d.mode, engine: rec.engine, pii: { to: d.to } }, "outbound call placed");
      res.status(202).json({ callId, callSid: call.sid });
    } catch (err) {
      if (!(err instanceof TwilioFailure)) throw err;
      const f = err;
      log.error({ kind: f.kind, status: f.status, code: f.code, err: f.message }, "twilio did not place the call");
      await ctx.lifecycle.apply(
        callId,
        "failed",
        "api",
        f.kind === "rejected" ? `twilio ${f.code ?? f.status}` : `twilio ${f.kind}`,
      );
      const a = twilioAnswer(f);
      res.status(a.status).json({ ...a.body, callId, message: f.message });
    }
  });

  r.get("/", async (req, res) => {
    const q = ListQuery.safeParse(req.query);
    if (!q.success) return badRequest(res, q.error);
    const ids = await ctx.store.activeCallIds();
    const calls = (await Promise.all(ids.map((id) => ctx.store.getCall(id)))).filter((c): c is CallRecord => !!c);
    res.json({ calls: q.data.state === "active" ? calls : calls.filter((c) => c.state === q.data.state) });
  });

  const load = async (req: Request, res: Response): Promise<CallRecord | null> => {
    const id = CallIdParam.safeParse(req.params.id);
    const rec = id.success ? await ctx.store.getCall(id.data) : null;
    if (!rec) res.status(404).json({ error: "no such call" });
    return rec;
  };

  r.get("/:id", async (req, res) => {
    const rec = await load(req, res);
    if (!rec) return;
    const [timeline, transcript] = await Promise.all([
      ctx.store.timeline(rec.callId),
      ctx.store.transcript(rec.callId),
    ]);
    res.json({ call: rec, timeline, transcript });
  });

  r.post("/:id/hangup", async (req, res) => {
    const rec = await load(req, res);
    if (!rec) return;
    if (isTerminal(rec.state)) return void res.status(409).json({ error: "call already ended", state: rec.state });
    try {
      await hangupCall(ctx, rec, "api-hangup");
    } catch (err) {
      if (!(err instanceof TwilioFailure)) throw err;
      const a = twilioAnswer(err);
      return void res.status(a.status).json({ ...a.body, callId: rec.callId });
    }
    res.status(202).json({ callId: rec.callId });
  });

  r.post("/:id/say", async (req, res) => {
    const rec = await load(req, res);
    if (!rec) return;
    const b = SayBody.safeParse(req.body ?? {});
    if (!b.success) return badRequest(res, b.error);
    if (isTerminal(rec.state)) return void res.status(409).json({ error: "call already ended", state: rec.state });
    ctx.bus.publish(subjects.evt(rec.callId), CallEvent, {
      type: "operator.say",
      callId: rec.callId,
      ts: ctx.now(),
      text: b.data.text,
    });
    res.status(202).json({ callId: rec.callId });
  });

  r.post("/:id/continue", async (req, res) => {
    const rec = await load(req, res);
    if (!rec) return;
    const b = ContinueBody.safeParse(req.body ?? {});
    if (!b.success) return badRequest(res, b.error);
    if (isTerminal(rec.state)) return void res.status(409).json({ error: "call already ended", state: rec.state });
    const r = await continueCall(ctx, rec, b.data.text, b.data.timeoutMs);
    if (r.kind === "ended")
      return void res.status(409).json({ error: "call ended before the caller answered", state: r.state });
    res.json(
      r.kind === "answer"
        ? { callId: rec.callId, answered: true, text: r.text, ts: r.ts }
        : { callId: rec.callId, answered: false, timedOut: true },
    );
  });

  // express.json errors (bad JSON, too large) as JSON answers.
  r.use(
    (err: { status?: number; type?: string; message?: string }, _req: Request, res: Response, next: NextFunction) => {
      if (!err.status) return next(err);
      res.status(err.status).json({
        error: err.type === "entity.parse.failed" ? "invalid JSON" : (err.message ?? "bad request"),
        fields: ["body"],
      });
    },
  );
  return r;
}
