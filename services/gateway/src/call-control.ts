import type { Subscription } from "nats";
import { CallState, CommandMessage, isTerminal, subjects, queues, type CallRecord } from "@voicecall/contracts";
import type { GatewayContext } from "./context";
import { endWebCall } from "./phone/routes";
import { restError } from "./twilio-calls";
import { settleCall } from "./settle-call";
import { dialTwiml } from "./twiml";

/** Apply Twilio's own view of a call (REST answer) when it is a state we know. */
export async function applyTwilioStatus(
  ctx: GatewayContext,
  callId: string,
  status: string,
  source: string,
  reason = "",
): Promise<void> {
  const s = CallState.safeParse(status);
  if (s.success) await ctx.lifecycle.apply(callId, s.data, source, reason);
}

/**
 * Hang up through Twilio REST with `Status=completed`, whatever our record says: Twilio's `canceled`
 * only stops a call that is queued or ringing, and in the moment after the callee answers (before any
 * callback reaches us) our record still says ringing. Twilio's answer may show the call live while it
 * hangs up, so a non-terminal answer is followed by `settleCall`. A call Twilio no longer has (404) or
 * that is not live (21220) is ended here instead.
 */
export async function hangupCall(ctx: GatewayContext, rec: CallRecord, reason: string): Promise<void> {
  const log = ctx.log.child({ callId: rec.callId, callSid: rec.callSid });
  if (rec.channel === "web") return endWebCall(ctx, rec.callId, reason);
  if (!rec.callSid) {
    await ctx.lifecycle.apply(rec.callId, "canceled", reason, reason);
    return;
  }
  try {
    const call = await ctx.twilio.update(rec.callSid, { status: "completed" });
    log.info({ reason, status: call.status }, "hangup sent to twilio");
    if (isTerminal(call.status as CallState)) await applyTwilioStatus(ctx, rec.callId, call.status, reason, reason);
    else void settleCall(ctx, rec.callId, { reason, endWhenUnknown: false });
  } catch (err) {
    const e = restError(err);
    log.warn({ reason, status: e.status, code: e.code, err: e.message }, "twilio hangup failed");
    if (e.status === 404 || e.code === 21220 || e.code === 20404) {
      const fetched = await ctx.twilio.fetch(rec.callSid).catch(() => null);
      if (fetched && isTerminal(fetched.status as CallState))
        await applyTwilioStatus(ctx, rec.callId, fetched.status, reason, reason);
      else
        await ctx.lifecycle.apply(rec.callId, rec.state === "in-progress" ? "completed" : "canceled", reason, reason);
    } else throw err;
  }
}

async function transferCall(ctx: GatewayContext, rec: CallRecord, to: string): Promise<void> {
  if (!rec.callSid || isTerminal(rec.state)) {
    ctx.log.warn({ callId: rec.callId, state: rec.state }, "transfer for a call that is not live ignored");
    return;
  }
  await ctx.twilio.update(rec.callSid, { twiml: dialTwiml(to) });
  ctx.log.info({ callId: rec.callId, callSid: rec.callSid, pii: { to } }, "call transferred");
}

/** `vc.call.*.cmd` (queue `gateway`): actions that need Twilio REST. */
export function subscribeCommands(ctx: GatewayContext): Subscription {
  return ctx.bus.subscribe(
    subjects.allCmd,
    CommandMessage,
    async (cmd) => {
      const rec = await ctx.store.getCall(cmd.callId);
      if (!rec) return void ctx.log.warn({ callId: cmd.callId, type: cmd.type }, "command for unknown call");
      if (cmd.type === "hangup") {
        if (!isTerminal(rec.state)) await hangupCall(ctx, rec, cmd.reason || "agent-hangup");
      } else if (cmd.type === "reconcile") {
        // Not awaited: it polls Twilio for a few seconds and must not hold up other commands.
        if (!isTerminal(rec.state))
          void settleCall(ctx, rec.callId, {
            reason: cmd.reason,
            streamSid: cmd.streamSid,
            endWhenUnknown: cmd.reason === "stream stop",
          });
      } else await transferCall(ctx, rec, cmd.to);
    },
    { queue: queues.gateway },
  );
}
