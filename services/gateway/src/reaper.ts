import { isTerminal, type CallRecord } from "@voicecall/contracts";
import type { GatewayContext } from "./context";
import { applyTwilioStatus, hangupCall } from "./call-control";
import { endWebCall } from "./phone/routes";
import { restError } from "./twilio-calls";

/** Ask Twilio how a call really is and apply it (never dials): used at start and for stuck calls. */
export async function reconcileCall(ctx: GatewayContext, rec: CallRecord): Promise<void> {
  const log = ctx.log.child({ callId: rec.callId, callSid: rec.callSid });
  // A browser-phone call has no Twilio leg to ask about; its media worker ends it when the page goes.
  if (rec.channel === "web") return;
  if (!rec.callSid) {
    // Never reached Twilio (crash between create and link): nothing to ask, nothing rings.
    if (ctx.now() - rec.createdAt > ctx.tuning.stuckAfterMs)
      await ctx.lifecycle.apply(rec.callId, "failed", "reconcile", "never-placed");
    return;
  }
  try {
    const call = await ctx.twilio.fetch(rec.callSid);
    log.info({ twilioStatus: call.status, state: rec.state }, "call reconciled with twilio");
    await applyTwilioStatus(ctx, rec.callId, call.status, "reconcile");
  } catch (err) {
    const e = restError(err);
    log.warn({ status: e.status, code: e.code, err: e.message }, "twilio fetch failed during reconcile");
    if (e.status === 404) await ctx.lifecycle.apply(rec.callId, "failed", "reconcile", "unknown-to-twilio");
  }
}

/**
 * An answered call with no stream owner (nobody holds its stream lease: the worker died, or the stream
 * never connected) and nothing written to its record for `orphanGraceMs`. A browser-phone call is then
 * over (its stream is the call); a phone call is checked with Twilio, which may still have it live
 * without our stream (a transfer's `<Dial>`), and ended if Twilio ended it.
 */
async function orphaned(ctx: GatewayContext, rec: CallRecord, now: number): Promise<boolean> {
  if (now - Math.max(rec.updatedAt, rec.answeredAt ?? 0) < ctx.tuning.orphanGraceMs) return false;
  return !(await ctx.store.leaseOwner("stream", rec.callId));
}

/** At start: bring every active call in line with Twilio. */
export async function reconcileActiveCalls(ctx: GatewayContext): Promise<number> {
  const ids = await ctx.store.activeCallIds();
  for (const id of ids) {
    const rec = await ctx.store.getCall(id);
    if (rec && !isTerminal(rec.state)) await reconcileCall(ctx, rec);
  }
  return ids.length;
}

/**
 * One pass of the reaper: calls past MAX_DURATION_SECONDS (counted from answer, or creation for calls
 * that never saw an answer callback) are hung up; answered calls without a stream owner are ended
 * (`orphaned`); calls not answered and silent for `stuckAfterMs` are reconciled with Twilio, and hung
 * up when they still are not live.
 */
export async function reapOnce(ctx: GatewayContext): Promise<{ checked: number; reaped: number }> {
  let reaped = 0;
  const ids = await ctx.store.activeCallIds();
  const now = ctx.now();
  for (const id of ids) {
    const rec = await ctx.store.getCall(id);
    if (!rec) continue;
    if (isTerminal(rec.state)) continue;
    const since = rec.answeredAt ?? rec.createdAt;
    if (now - since > ctx.config.MAX_DURATION_SECONDS * 1000 + ctx.tuning.maxDurationGraceMs) {
      ctx.log.warn({ callId: id, ageMs: now - since }, "call over max duration, hanging up");
      await hangupCall(ctx, rec, "max-duration").catch(() =>
        ctx.lifecycle.apply(id, "completed", "reaper", "max-duration"),
      );
      reaped++;
      continue;
    }
    if (rec.state === "in-progress" && (await orphaned(ctx, rec, now))) {
      ctx.log.warn(
        { callId: id, channel: rec.channel, mediaOwner: rec.mediaOwner, quietMs: now - rec.updatedAt },
        "call has no live stream, ending it",
      );
      if (rec.channel === "web") await endWebCall(ctx, id, "stream owner gone");
      else await reconcileCall(ctx, rec);
      if (isTerminal((await ctx.store.getCall(id))?.state ?? "completed")) reaped++;
      continue;
    }
    if (rec.state !== "in-progress" && now - rec.updatedAt > ctx.tuning.stuckAfterMs) {
      await reconcileCall(ctx, rec);
      const after = await ctx.store.getCall(id);
      if (after && !isTerminal(after.state) && after.state !== "in-progress") {
        ctx.log.warn({ callId: id, state: after.state }, "call stuck without events, ending it");
        await hangupCall(ctx, after, "stuck").catch(() => ctx.lifecycle.apply(id, "failed", "reaper", "stuck"));
        reaped++;
      }
    }
  }
  return { checked: ids.length, reaped };
}
