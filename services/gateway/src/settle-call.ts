import { isTerminal, type CallState } from "@voicecall/contracts";
import type { GatewayContext } from "./context";
import { applyTwilioStatus } from "./call-control";
import { restError } from "./twilio-calls";

export interface SettleWhy {
  /** Recorded as the end reason, e.g. `stream stop`, `api-hangup`. */
  reason: string;
  /** The stream that stopped: a newer stream of the call means the call lives on. */
  streamSid?: string;
  /**
   * End the call here when Twilio cannot be asked (unreachable, refused credentials): true after a
   * `stop`, which Twilio sends only when the call ended or its TwiML was replaced over REST.
   */
  endWhenUnknown: boolean;
}

export type SettleResult = "ended" | "live" | "unknown" | "skipped";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ask Twilio REST how a call is after its stream stopped or we hung up, and apply a terminal status.
 * An inbound call has no status callbacks unless the number has a "call status changes" URL, so this
 * is what ends it. Twilio may still show the call live for a moment after `stop`, hence a few fetches
 * spread over `tuning.settleDelaysMs` (about 5 s). Never throws.
 */
export async function settleCall(ctx: GatewayContext, callId: string, why: SettleWhy): Promise<SettleResult> {
  const log = ctx.log.child({ callId });
  let unreachable: ReturnType<typeof restError> | undefined;
  for (const delay of ctx.tuning.settleDelaysMs) {
    await sleep(delay);
    const rec = await ctx.store.getCall(callId).catch(() => null);
    if (!rec || isTerminal(rec.state)) return "ended";
    if (rec.channel === "web" || !rec.callSid) return "skipped";
    if (why.streamSid && rec.streamSid && rec.streamSid !== why.streamSid) return "live";
    try {
      const call = await ctx.twilio.fetch(rec.callSid);
      unreachable = undefined;
      if (isTerminal(call.status as CallState)) {
        log.info({ twilioStatus: call.status, reason: why.reason }, "call ended at twilio");
        await applyTwilioStatus(ctx, callId, call.status, "twilio-rest", why.reason);
        return "ended";
      }
    } catch (err) {
      const e = restError(err);
      if (e.status === 404) {
        log.warn({ reason: why.reason }, "call unknown to twilio, ending it");
        await ctx.lifecycle.apply(callId, "completed", "twilio-rest", `${why.reason}; unknown to twilio`);
        return "ended";
      }
      unreachable = e;
    }
  }
  if (unreachable && why.endWhenUnknown) {
    log.warn(
      { reason: why.reason, status: unreachable.status, code: unreachable.code, err: unreachable.message },
      "twilio not reachable after stream stop, ending the call",
    );
    await ctx.lifecycle.apply(callId, "completed", "stream", `${why.reason}; twilio not asked`);
    return "ended";
  }
  if (unreachable) return "unknown";
  log.info({ reason: why.reason }, "call still live at twilio after stream stop");
  return "live";
}
