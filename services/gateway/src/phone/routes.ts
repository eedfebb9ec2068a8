import { randomBytes, randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { mintStreamToken } from "@voicecall/auth";
import { dependencyGate } from "@voicecall/runtime";
import { requireBearer } from "../bearer";
import { CallEvent, SayMessage, isTerminal, subjects, ControlMessage } from "@voicecall/contracts";
import type { GatewayContext } from "../context";
import { phoneHtml, phoneScript } from "./bundle";

const hex = (n: number) => randomBytes(n).toString("hex");

/**
 * The browser phone (`/phone`): a page that speaks Media Streams itself, and the endpoints it uses.
 * A web call is a call record with `channel: web`: same media, agent and tts path as a phone call,
 * but no Twilio call behind it, so the gateway itself answers and ends it.
 */
export function phoneRouter(ctx: GatewayContext): Router {
  const r = express.Router();
  r.get("/", (_req, res) => void res.type("html").set("cache-control", "no-store").send(phoneHtml()));
  r.get("/app.js", async (_req, res, next) => {
    try {
      res.type("application/javascript").send(await phoneScript());
    } catch (err) {
      next(err);
    }
  });

  const bearer = requireBearer(ctx.config.API_TOKEN, "unauthorized: enter the API token");
  const deps = dependencyGate({ bus: ctx.bus, redis: ctx.store.redis });
  // Every authenticated route here needs Redis and NATS: 503 with the reason at once when one is away.
  const auth = (req: Request, res: Response, next: NextFunction) =>
    bearer(req, res, (err?: unknown) => (err ? next(err) : deps(req, res, next)));

  r.post("/calls", auth, express.json({ limit: "4kb" }), async (_req, res) => {
    if ((await ctx.store.activeCallIds()).length >= ctx.config.MAX_CONCURRENT_CALLS)
      return void res.status(429).json({ error: "too many concurrent calls" });
    const callId = randomUUID();
    const callSid = `CA${hex(16)}`;
    const rec = await ctx.store.createCall(
      {
        callId,
        callSid,
        channel: "web",
        direction: "inbound",
        mode: "conversation",
        engine: ctx.config.VOICE_ENGINE,
        from: "client:browser",
        to: "agent",
        greeting: ctx.config.INBOUND_GREETING,
      },
      ctx.now(),
    );
    ctx.lifecycle.created(rec);
    await ctx.lifecycle.apply(callId, "in-progress", "web", "browser phone");
    ctx.log.info({ callId, callSid }, "browser phone call started");
    res.status(201).json({
      callId,
      callSid,
      accountSid: ctx.config.TWILIO_ACCOUNT_SID ?? `AC${"0".repeat(32)}`,
      streamSid: `MZ${hex(16)}`,
      streamUrl: ctx.urls.streamUrl,
      token: mintStreamToken(ctx.config.STREAM_TOKEN_SECRET, callId, callSid, ctx.tuning.streamTokenTtlMs),
    });
  });

  r.post("/calls/:callId/hangup", auth, async (req, res) => {
    const rec = await ctx.store.getCall(String(req.params.callId));
    if (!rec || rec.channel !== "web") return void res.status(404).json({ error: "no such web call" });
    await endWebCall(ctx, rec.callId, "caller hung up");
    res.json({ callId: rec.callId, state: "completed" });
  });

  // Server-sent events: the call's events plus what the agent says, for the page's live transcript.
  r.get("/events/:callId", auth, async (req, res) => {
    const callId = String(req.params.callId);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(callId) || !(await ctx.store.getCall(callId))) return void res.status(404).end();
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    const subs = [
      ctx.bus.subscribe(subjects.evt(callId), CallEvent, (e) => void send(e)),
      ctx.bus.subscribe(subjects.say(callId), SayMessage, (m) => void (m.type === "say" && send(m))),
    ];
    const ping = setInterval(() => res.write(": ping\n\n"), 15_000);
    req.on("close", () => {
      clearInterval(ping);
      for (const s of subs) s.unsubscribe();
    });
    // `ready` once NATS has the subscriptions: the page starts its stream only then.
    await ctx.bus.nc.flush().catch(() => undefined);
    send({ type: "ready", callId });
  });
  return r;
}

/** End a web call: state completed, and the media worker closes the page's socket. */
export async function endWebCall(ctx: GatewayContext, callId: string, reason: string): Promise<void> {
  const rec = await ctx.store.getCall(callId);
  if (!rec || isTerminal(rec.state)) return;
  await ctx.lifecycle.apply(callId, "completed", "web", reason);
  ctx.bus.publish(subjects.ctl(callId), ControlMessage, { type: "close", callId, ts: ctx.now(), reason });
}
