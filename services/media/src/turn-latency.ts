import type { UtteranceAudio } from "./playout";

export type TurnKind = "greeting" | "reply";

/**
 * Per-turn latency where it ends, at the first frame sent to Twilio: greeting = `start` received → first
 * greeting frame; reply = the caller's last final with words → first reply frame. Clock: performance.now().
 */
export class TurnLatency {
  private greetingReported = false;
  /** The caller's last final with words, until a reply is sent. */
  private finalAt?: number;

  constructor(private readonly startedAt: number) {}

  /** The caller finished a turn (a final with words, or the realtime model's end of speech). */
  callerFinal(now = performance.now()): void {
    this.finalAt = now;
  }

  /** An utterance's first frame went out: the turn it ends, if any, and its latency (ms, 0.1 ms steps). */
  firstAudio(u: UtteranceAudio, now = performance.now()): { kind: TurnKind; latencyMs: number } | undefined {
    let from: number;
    let kind: TurnKind;
    if (u.purpose === "greeting" && !this.greetingReported) {
      this.greetingReported = true;
      kind = "greeting";
      from = this.startedAt;
    } else if (u.purpose === "reply" && this.finalAt !== undefined) {
      kind = "reply";
      from = this.finalAt;
      this.finalAt = undefined;
    } else return undefined;
    return { kind, latencyMs: Math.round((now - from) * 10) / 10 };
  }
}
