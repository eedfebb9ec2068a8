import type { Purpose } from "@voicecall/contracts";
import { heardContent, heardPart } from "./caller-heard";
import type { Turn, SaidLine } from "./turn";

/** Rewrite a turn's assistant message to what the caller heard (or will hear) of it. */
function refresh(turn: Turn): void {
  if (turn.msg) turn.msg.content = heardContent(turn.said, turn.superseded ?? false);
}

/**
 * What the agent has said and what became of it: still speaking (queued or playing), played (done
 * mark), or cut by barge-in. Keeps each turn's history message equal to what the caller heard.
 */
export class SpeechLedger {
  /** Said and neither played nor interrupted yet (may still be queued in tts/media). */
  private readonly speaking = new Map<string, SaidLine>();
  /** Reply utterances of the current and previous turn, for marks and cuts that arrive late. */
  private readonly replies = new Map<string, SaidLine>();
  /** A cut greeting/prompt/operator line, written to the transcript when the cut is confirmed. */
  private cutOther?: SaidLine;
  /** Every id said on this call and what it was for: a late mark (from an earlier stream) still finds it. */
  private readonly purposes = new Map<string, Purpose>();

  get busy(): boolean {
    return this.speaking.size > 0;
  }

  isSpeaking(id: string): boolean {
    return this.speaking.has(id);
  }

  /** Everything being said right now, for echo detection. */
  speakingText(): string {
    return [...this.speaking.values()].map((u) => u.text).join(" ");
  }

  /** What `id` was said for, if this process said it. */
  purposeOf(id: string): Purpose | undefined {
    return this.purposes.get(id);
  }

  said(u: SaidLine): void {
    this.purposes.set(u.id, u.purpose);
    this.speaking.set(u.id, u);
    if (u.turn) this.replies.set(u.id, u);
  }

  /** The stream is gone (or the agent changed course): nothing is playing any more. */
  clear(): void {
    this.speaking.clear();
  }

  /** A done mark: the caller heard all of `id`. */
  played(id: string): SaidLine | undefined {
    const u = this.speaking.get(id) ?? this.replies.get(id);
    this.speaking.delete(id);
    this.replies.delete(id);
    if (u) u.played = true;
    return u;
  }

  /**
   * Media paused `id` for caller speech. Provisional (`resumed` undoes it) until a newer turn confirms it.
   * Returns the utterance when its cut is final already (media confirmed after the caller's turn began).
   */
  interrupted(id: string, playedMs: number, totalMs: number): { cut?: SaidLine; final: boolean } {
    const u = this.speaking.get(id) ?? this.replies.get(id);
    if (!u || u.played || (u.turn?.superseded && u.turn.said.some((s) => s.cut !== undefined))) return { final: false };
    this.speaking.delete(id);
    u.cut = heardPart(u.text, playedMs, totalMs);
    if (!u.turn) {
      this.cutOther = u;
      return { cut: u, final: false };
    }
    refresh(u.turn);
    return { cut: u, final: u.turn.superseded === true };
  }

  /** A false interruption: `id` plays on. */
  resumed(id: string): void {
    const u = this.replies.get(id) ?? (this.cutOther?.id === id ? this.cutOther : undefined);
    if (!u || u.cut === undefined) return;
    u.cut = undefined;
    if (this.cutOther === u) this.cutOther = undefined;
    this.speaking.set(u.id, u);
    if (u.turn) refresh(u.turn);
  }

  /**
   * A newer turn replaces `turn`: its unplayed sentences will never be heard. Returns the utterance
   * whose cut this confirms (to write to the transcript), if any.
   */
  supersede(turn: Turn | undefined): SaidLine | undefined {
    if (turn) {
      turn.superseded = true;
      refresh(turn);
      // Keep this turn's utterances findable for a late `interrupted`; forget older turns.
      for (const [id, u] of this.replies) if (u.turn !== turn) this.replies.delete(id);
      for (const u of turn.said) this.speaking.delete(u.id);
    }
    const cut = turn?.said.find((u) => u.cut !== undefined) ?? this.cutOther;
    this.cutOther = undefined;
    return cut?.cut ? cut : undefined;
  }
}
