/**
 * Barge-in policy, decided in the worker with no round trip. Pure: fed speech events and the stream
 * clock (ms of inbound audio, so it is deterministic), it answers with what to do.
 *
 * - `pause`: the caller is really talking over the agent: send `clear`, report what was played.
 * - `confirm`: a real turn (a final transcript with words that are not backchannels): drop the paused audio.
 * - `resume`: a false interruption (cough, noise, "uh-huh"): play the rest of the paused utterance.
 */

export interface BargeInThresholds {
  /** Caller speech (ms) needed before it counts. */
  minSpeechMs: number;
  /** Words (not backchannels) needed in partial transcripts; 0 = duration alone decides. */
  minWords: number;
}

export interface BargeInConfig {
  enabled: boolean;
  /** While agent audio is playing. */
  speaking: BargeInThresholds;
  /** While no audio plays but the agent is preparing a reply (after the caller's last final). */
  thinking: BargeInThresholds;
  /** Without a real turn this long after a pause, the pause was a false interruption. */
  falseInterruptionMs: number;
  backchannels: ReadonlySet<string>;
}

export type AgentState = "speaking" | "thinking" | "idle";
export type BargeInDecision = "pause" | "confirm" | "resume" | null;

/** Lower-case words of a transcript, punctuation stripped (hyphens kept: "uh-huh"). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\- ]+/gu, " ")
    .split(/\s+/)
    .filter((w) => w.length > 0 && w !== "-");
}

/** Words that are not backchannels. */
export function realWords(text: string, backchannels: ReadonlySet<string>): number {
  return words(text).filter((w) => !backchannels.has(w)).length;
}

export function parseBackchannels(list: string): Set<string> {
  return new Set(list.split(",").map((w) => w.trim().toLowerCase()).filter(Boolean));
}

export class BargeInPolicy {
  private speaking = false;
  private speechStartMs = 0;
  private partialWords = 0;
  /** A partial came back and it was only backchannels: do not pause on duration alone. */
  private onlyBackchannel = false;
  private pausedAtMs: number | null = null;

  constructor(private readonly cfg: BargeInConfig) {}

  get paused(): boolean {
    return this.pausedAtMs !== null;
  }

  get callerSpeaking(): boolean {
    return this.speaking;
  }

  speechStarted(atMs: number): void {
    this.speaking = true;
    this.speechStartMs = atMs;
    this.partialWords = 0;
    this.onlyBackchannel = false;
  }

  speechStopped(): void {
    this.speaking = false;
  }

  partial(text: string): void {
    this.partialWords = realWords(text, this.cfg.backchannels);
    this.onlyBackchannel = this.partialWords === 0 && words(text).length > 0;
  }

  /** A final transcript ends the caller's turn. */
  final(text: string, agent: AgentState): BargeInDecision {
    const real = realWords(text, this.cfg.backchannels);
    this.speaking = false;
    this.partialWords = 0;
    if (this.pausedAtMs !== null) {
      this.pausedAtMs = null;
      return real > 0 ? "confirm" : "resume";
    }
    // A real sentence that finished before the duration threshold still interrupts a speaking agent.
    if (this.cfg.enabled && agent === "speaking" && real > 0 && real >= this.cfg.speaking.minWords) return "confirm";
    return null;
  }

  /** Call on every inbound frame with the stream clock. */
  tick(nowMs: number, agent: AgentState): BargeInDecision {
    if (this.pausedAtMs !== null) {
      if (!this.speaking && nowMs - this.pausedAtMs >= this.cfg.falseInterruptionMs) {
        this.pausedAtMs = null;
        return "resume";
      }
      return null;
    }
    if (!this.cfg.enabled || agent === "idle" || !this.speaking || this.onlyBackchannel) return null;
    const t = this.cfg[agent];
    if (nowMs - this.speechStartMs >= t.minSpeechMs && this.partialWords >= t.minWords) {
      this.pausedAtMs = nowMs;
      return "pause";
    }
    return null;
  }
}
