import express, { type Router } from "express";
import { z } from "zod";
import type { GatewayContext } from "../context";
import { requireBearer } from "../bearer";
import { sendEvent } from "./post";

const DeadId = z.string().regex(/^\d{1,20}-\d{1,20}$/);

/** What a receiver sees of a URL in listings: no query or credentials (they may hold tokens). */
export const shownUrl = (u: string): string => {
  try {
    const x = new URL(u);
    return `${x.origin}${x.pathname}`;
  } catch {
    return "(invalid URL)";
  }
};

/**
 * `/api/events`: undelivered work (calls with events due) and dead letters, with a resend that
 * delivers a dead letter again now (signed anew) and drops it once the receiver accepts it.
 */
export function eventsApi(ctx: GatewayContext): Router {
  const r = express.Router();
  const ev = ctx.store.events;
  r.use(requireBearer(ctx.config.API_TOKEN));

  r.get("/", async (_req, res) => {
    const [pending, dead] = await Promise.all([ev.dueCalls(), ev.deadLetters()]);
    res.json({
      pending: pending.map((p) => ({ callId: p.callId, dueAt: p.dueAt })),
      dead: dead.map(({ id, dead: d }) => ({
        id,
        callId: d.callId,
        eventId: d.eventId,
        type: d.type,
        url: shownUrl(d.url),
        attempts: d.attempts,
        error: d.error,
        ts: d.ts,
      })),
    });
  });

  const resend = async (id: string): Promise<{ id: string; delivered: boolean; error?: string }> => {
    const d = await ev.getDead(id);
    if (!d) return { id, delivered: false, error: "no such dead letter" };
    if (!ctx.config.EVENT_WEBHOOK_SECRET) return { id, delivered: false, error: "EVENT_WEBHOOK_SECRET is unset" };
    const out = await sendEvent({
      url: d.url,
      secret: ctx.config.EVENT_WEBHOOK_SECRET,
      body: d.body,
      eventId: d.eventId,
      type: d.type,
      attempt: d.attempts + 1,
      timeoutMs: ctx.config.EVENT_WEBHOOK_TIMEOUT_MS,
    });
    if (!out.ok) return { id, delivered: false, error: out.error };
    await ev.removeDead(id);
    ctx.log.info({ callId: d.callId, eventId: d.eventId }, "dead letter resent");
    return { id, delivered: true };
  };

  r.post("/dead/:id/resend", async (req, res) => {
    const id = DeadId.safeParse(req.params.id);
    if (!id.success) return void res.status(400).json({ error: "invalid dead letter id", fields: ["id"] });
    const out = await resend(id.data);
    res.status(out.delivered ? 200 : out.error === "no such dead letter" ? 404 : 502).json(out);
  });

  // In order, one at a time: a receiver that fails again stops the run (the rest stay dead-lettered).
  r.post("/dead/resend", async (_req, res) => {
    const results: Awaited<ReturnType<typeof resend>>[] = [];
    for (const { id } of await ev.deadLetters()) {
      const out = await resend(id);
      results.push(out);
      if (!out.delivered) break;
    }
    res.status(results.every((x) => x.delivered) ? 200 : 502).json({ results });
  });
  return r;
}
