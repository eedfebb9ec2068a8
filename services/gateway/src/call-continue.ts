import { z } from "zod";
import { CallEvent, isTerminal, subjects, type CallRecord, type CallState } from "@voicecall/contracts";
import type { GatewayContext } from "./context";

export const ContinueBody = z
  .object({
    text: z.string().min(1).max(2000),
    /** How long to wait for the caller's answer, counted from the request (speaking included). */
    timeoutMs: z.number().int().min(1000).max(300_000).default(30_000),
  })
  .strict();

export type ContinueResult =
  { kind: "answer"; text: string; ts: number } | { kind: "timeout" } | { kind: "ended"; state: CallState };

/**
 * Say `text` on the call, then wait for the caller's next final words (a line that ends while we are
 * still speaking counts: the caller answered over us). Ends early when the call does.
 */
export async function continueCall(
  ctx: GatewayContext,
  rec: CallRecord,
  text: string,
  timeoutMs: number,
): Promise<ContinueResult> {
  const since = ctx.now();
  let settle!: (r: ContinueResult) => void;
  const done = new Promise<ContinueResult>((r) => (settle = r));
  // Subscribed before speaking, so an answer cannot slip in between.
  const sub = ctx.bus.subscribe(subjects.evt(rec.callId), CallEvent, (e) => {
    if (e.type === "transcript.final" && e.ts >= since && e.text.trim())
      settle({ kind: "answer", text: e.text, ts: e.ts });
    else if (e.type === "call.state" && isTerminal(e.state)) settle({ kind: "ended", state: e.state });
  });
  const timer = setTimeout(() => settle({ kind: "timeout" }), timeoutMs);
  try {
    await ctx.bus.nc.flush();
    // The call may have ended between the caller's check and the subscription.
    const now = await ctx.store.getCall(rec.callId);
    if (!now || isTerminal(now.state)) return { kind: "ended", state: now?.state ?? "completed" };
    ctx.bus.publish(subjects.evt(rec.callId), CallEvent, {
      type: "operator.say",
      callId: rec.callId,
      ts: ctx.now(),
      text,
    });
    const r = await done;
    if (r.kind !== "timeout") return r;
    // The NATS event may have been missed (reconnect): media also keeps the newest final on the record.
    const last = await ctx.store.getCall(rec.callId);
    if (last?.lastFinalText && (last.lastFinalTs ?? 0) >= since)
      return { kind: "answer", text: last.lastFinalText, ts: last.lastFinalTs! };
    return r;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}
