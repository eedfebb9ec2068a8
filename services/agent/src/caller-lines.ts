import type { CallRecord } from "@voicecall/contracts";
import { isBackchannel } from "@voicecall/dialogue";
import { isEcho } from "./echo";

/** A caller line older than this is not answered on recovery (the caller has moved on). */
export const RECOVER_MAX_AGE_MS = 30_000;

/**
 * Which caller lines are new to this process: a final can arrive twice (live, and recovered from the
 * call record after a reconnect or takeover); finals are ordered by their `ts`.
 */
export class SeenFinals {
  private newest = { ts: 0, text: "" };

  get ts(): number {
    return this.newest.ts;
  }

  /** True (and remembered) when the final `ts`/`text` was not seen before. */
  fresh(ts: number, text: string): boolean {
    const seen = this.newest;
    if (ts < seen.ts || (ts === seen.ts && text === seen.text)) return false;
    this.newest = { ts, text };
    return true;
  }
}

/**
 * Why a caller line is not a turn, if it is not: empty, our own voice coming back while we speak
 * (`speaking`: what is being said now), or an acknowledgement ("yeah") — which media may have marked
 * already (`backchannel`). Keys pressed are always a turn.
 */
export function notATurn(
  text: string,
  o: { dtmf: boolean; backchannel: boolean; speaking?: string },
): "empty" | "echo" | "backchannel" | undefined {
  if (!text.trim()) return "empty";
  if (o.dtmf) return undefined;
  if (o.speaking && isEcho(text, o.speaking)) return "echo";
  if (o.backchannel || isBackchannel(text)) return "backchannel";
  return undefined;
}

/**
 * The caller's newest line if no agent handled it (published while nobody followed the call) and it
 * is recent enough to answer; `seenTs`: the newest final this process has seen.
 */
export function unansweredLine(
  call: CallRecord,
  seenTs: number,
  now = Date.now(),
): { ts: number; text: string } | undefined {
  const ts = call.lastFinalTs;
  const text = call.lastFinalText;
  if (!ts || !text) return undefined;
  if (ts <= Math.max(seenTs, call.handledFinalTs ?? 0) || now - ts > RECOVER_MAX_AGE_MS) return undefined;
  return { ts, text };
}
