import type { Phone } from "@voicecall/twilio-sim";
import type { HeardSegment } from "@voicecall/twilio-sim";
import { waitFor, type VoiceStack } from "@voicecall/testkit";

/** Heard audio after the caller stopped speaking that counts as "the agent answered". */
export const REPLY_MIN_MS = 700;
/** No new audio for this long: the agent's reply is over. */
const QUIET_MS = 900;

export interface TurnResult {
  phrase: string;
  /** ms on the call's clock (since the simulator created it). */
  sayEndMs: number;
  answered: boolean;
  /** When the first reply audio was heard, and the end of the last reply segment. */
  replyStartMs?: number;
  replyEndMs?: number;
  /** Longest stretch without audio between the end of the caller's utterance and the end of the reply. */
  gapMs?: number;
}

/** The longest silence inside [from, to] given the heard segments. */
export function longestSilence(segments: readonly HeardSegment[], from: number, to: number): number {
  let cursor = from;
  let longest = 0;
  for (const s of [...segments].sort((a, b) => a.atMs - b.atMs)) {
    const end = s.atMs + s.durationMs;
    if (end <= cursor) continue;
    if (s.atMs >= to) break;
    longest = Math.max(longest, s.atMs - cursor);
    cursor = Math.max(cursor, end);
  }
  return Math.max(longest, to - cursor);
}

/** Heard ms at or after `t` (the part of each segment past `t`). */
export function heardAfter(segments: readonly HeardSegment[], t: number): number {
  let ms = 0;
  for (const s of segments) ms += Math.max(0, s.atMs + s.durationMs - Math.max(t, s.atMs));
  return ms;
}

/** The caller's side of one conversation call in the chaos suite. */
export class CallDriver {
  readonly turns: TurnResult[] = [];
  constructor(
    readonly v: VoiceStack,
    readonly callId: string,
    readonly phone: Phone,
    readonly index: number,
  ) {}

  /** Place an outbound conversation call and pick up the phone once the stream is open. */
  static async place(
    v: VoiceStack,
    index: number,
    greeting: string,
    trace: (m: string) => unknown = () => undefined,
  ): Promise<CallDriver> {
    const to = `+1415555${String(1000 + index).padStart(4, "0")}`;
    const r = await v.api<{ callId: string }>("POST", "/api/calls", { to, mode: "conversation", greeting });
    if (r.status !== 202) throw new Error(`POST /api/calls → ${r.status} ${JSON.stringify(r.json)}`);
    const { callId } = r.json;
    trace(`created ${callId}`);
    const sid = await waitFor(
      async () => (await v.store.getCall(callId))?.callSid,
      `callSid of call ${index}`,
      60_000,
      100,
    );
    const phone = await waitFor(() => v.sim.call(sid), `simulator call ${sid}`, 30_000, 50);
    trace(`dialled ${sid}`);
    await phone.waitForStream(1, 60_000);
    return new CallDriver(v, callId, phone, index);
  }

  now(): number {
    return this.phone.call.recorder.now();
  }

  /** Wait until the caller has heard nothing new for a while and nothing is queued for playback. */
  async quiet(timeoutMs = 60_000): Promise<void> {
    let last = -1;
    let since = Date.now();
    await waitFor(
      () => {
        const ms = this.phone.heard().ms;
        if (ms !== last || this.phone.queuedMs() > 0) {
          last = ms;
          since = Date.now();
          return false;
        }
        return Date.now() - since >= QUIET_MS;
      },
      `call ${this.index} quiet`,
      timeoutMs,
      50,
    );
  }

  /** Say `phrase` and wait for the reply to be heard and to end; `answered: false` after `timeoutMs`. */
  async turn(phrase: string, timeoutMs: number): Promise<TurnResult> {
    await this.quiet().catch(() => undefined);
    // say() waits for an open stream: a call whose stream never comes back must not hang the suite.
    let timer: NodeJS.Timeout | undefined;
    const spoke = await Promise.race([
      this.phone.say(phrase).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs + 10_000))),
    ]).finally(() => clearTimeout(timer));
    const sayEndMs = this.now();
    if (!spoke) {
      const r: TurnResult = { phrase, sayEndMs, answered: false };
      this.turns.push(r);
      return r;
    }
    const deadline = Date.now() + timeoutMs;
    let answered = false;
    while (Date.now() < deadline && this.phone.status === "in-progress") {
      if (heardAfter(this.phone.heard().segments, sayEndMs) >= REPLY_MIN_MS) {
        answered = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const result: TurnResult = { phrase, sayEndMs, answered };
    if (answered) {
      await this.quiet().catch(() => undefined);
      const after = this.phone.heard().segments.filter((s) => s.atMs + s.durationMs > sayEndMs);
      result.replyStartMs = Math.max(sayEndMs, after[0]!.atMs);
      result.replyEndMs = Math.max(...after.map((s) => s.atMs + s.durationMs));
      result.gapMs = Math.round(longestSilence(after, sayEndMs, result.replyEndMs));
    }
    this.turns.push(result);
    return result;
  }

  /** A turn the caller repeats once if nothing came back (as a person would: "hello? …"). */
  async turnWithRetry(phrase: string, timeoutMs: number): Promise<{ results: TurnResult[]; answered: boolean }> {
    const first = await this.turn(phrase, timeoutMs);
    if (first.answered || this.phone.status !== "in-progress") return { results: [first], answered: first.answered };
    const second = await this.turn(phrase, timeoutMs);
    return { results: [first, second], answered: second.answered };
  }
}
