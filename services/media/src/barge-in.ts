/**
 * Barge-in policy, decided in the worker with no round trip. Pure: fed speech events and the stream
 * clock (ms of inbound audio, so it is deterministic), it answers with what to do.
 *
 * - `pause`: the caller is really talking over the agent: send `clear`, report what was played.
 * - `confirm`: a real turn (a final transcript with words that are not backchannels): drop the paused audio.
 * - `resume`: a false interruption (cough, noise, "uh-huh"): play the rest of the paused utterance.
 *
 * A pause is resumed only once it is known to be a non-turn: caller speech longer than a backchannel
 * (`backchannelMaxMs`) is a possible sentence, so the pause holds until its final transcript (or the
 * recogniser's "no words") arrives, however slow recognition is. A reply must never come back while
 * the sentence that cut it is still being recognised.
 *
 * Speech length counts voiced audio (onset → last voiced frame), not time since the onset: a knock
 * followed by silence is not 200 ms of speech. With a pipeline that can decode the running utterance
 * (`earlyCheck`), a pause whose caller has gone quiet for `resumeGapMs` asks for that decode (`check`):
 * no words resumes within a few hundred ms of the noise ending; words confirm at once. When the decode's
 * answer can be held (`checkAhead`), it is asked for earlier, after `checkGapMs` of quiet, and its answer
 * waits for `resumeGapMs` of quiet with no voice since: the decision is the same, on the same audio (give or
 * take quiet frames), but the decode's time is spent inside the quiet gap instead of after it.
 *
 * Over agent speech (it plays, or a pause holds it) words alone do not make a turn (`overTurn`): a result
 * the recogniser is unsure of (`minConfidence`: a grammar decoder maps a murmur onto the nearest phrase,
 * and the fit shows it), the agent's own words coming back (`echoWords`), and a final with no VAD utterance
 * behind it (a streaming recogniser transcribing background speech the level floor kept from starting one)
 * are not turns. Idle, every final with real words is the caller's turn, whatever its confidence.
 */

import { secondOpinion } from "./speech/second-opinion";

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
  /** Caller speech (VAD onset → last voiced frame, ms) up to this long may be a backchannel; longer waits for its transcript. */
  backchannelMaxMs: number;
  /** Speech longer than a backchannel that gets no transcript within this (ms after it ended): drop the cut reply, never replay it. */
  recognitionTimeoutMs: number;
  /** Quiet this long (ms) after paused-over speech: decide on a decode of what was said so far (`check`) to resume early. */
  resumeGapMs: number;
  /**
   * Quiet this long (ms) after paused-over speech: start that decode, ahead of the decision at `resumeGapMs`,
   * when its answer can wait for it (`checkAhead`: pocketsphinx's peek). Default `resumeGapMs` (start and decide at once).
   */
  checkGapMs?: number;
  /** Second opinion (open vocabulary): an utterance this long (voiced ms) heard only as sink sounds is a sentence. */
  sentenceMs?: number;
  /** Over agent speech, a transcript less sure than this (0..1) is not a turn; 0 = off. */
  minConfidence?: number;
  /** Over agent speech, this many real words (or more) all in the text being played are echo; 0 = off. */
  echoWords?: number;
  backchannels: ReadonlySet<string>;
}

export type AgentState = "speaking" | "thinking" | "idle";
/** Open vocabulary over agent speech: the fixed grammar's text for the same audio (speech/second-opinion.ts). */
export interface SecondOpinion {
  text: string;
}
/** `check`: decode the running utterance now and hand the text to `checked`. */
export type BargeInDecision = "pause" | "confirm" | "resume" | "check" | null;

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
  return new Set(
    list
      .split(",")
      .map((w) => w.trim().toLowerCase())
      .filter(Boolean),
  );
}

export class BargeInPolicy {
  private speaking = false;
  private partialWords = 0;
  /** A partial came back and it was only backchannels: do not pause on duration alone. */
  private onlyBackchannel = false;
  private pausedAtMs: number | null = null;
  /** Stream time a paused-over utterance longer than a backchannel ended; its transcript is awaited. */
  private awaitingSinceMs: number | null = null;
  /** Stream time of the last voiced frame (the pipeline's), and where voiced speech counts from. */
  private lastVoicedMs = 0;
  private voicedFromMs: number | null = 0;
  /** The `lastVoicedMs` a check was asked for (one per quiet gap); a later voice makes its answer stale. */
  private checkedAtVoicedMs: number | null = null;
  /** An early check found no words and no voice came since: this utterance's final is not a turn either. */
  private nonTurn = false;
  /**
   * A second opinion heard an interruption in this utterance, even on a part that voice went on after: it is a
   * turn. flite's "stop" checked before its release burst is heard as "stop", the whole word as "huh".
   */
  private heardInterruption = false;
  /** The pipeline can decode the running utterance (pocketsphinx) or end it early (streaming): early checks are on. */
  earlyCheck = false;
  /** A check's answer can be held until the quiet gap is up (a peek, not a streaming engine's end): ask at `checkGapMs`. */
  checkAhead = false;
  /** An early answer waiting for `resumeGapMs` of quiet, valid while no voice comes after `atVoicedMs`. */
  private held: { d: "confirm" | "resume"; atVoicedMs: number } | null = null;
  /** What the last `resume` came from: an early check's answer, a final (or "no words"), or the timer. */
  resumedBy: "check" | "final" | "timer" | null = null;
  /** Where the caller's current quiet started (last loud or voiced frame, the earlier), as of the last tick. */
  private quietFromMs = 0;
  /** VAD utterances started and not yet answered by a final (a streaming recogniser's final may have none behind it). */
  private unanswered = 0;
  /** Stream time the running utterance's voiced speech started (its length for the second opinion). */
  private uttFromMs = 0;
  /** Words of the agent's last utterances (for the echo test), newest last. */
  private readonly agentWords: Set<string>[] = [];

  constructor(private readonly cfg: BargeInConfig) {}

  get paused(): boolean {
    return this.pausedAtMs !== null;
  }

  get callerSpeaking(): boolean {
    return this.speaking;
  }

  /** The text of an agent utterance about to play (its words are what an echo would carry). */
  agentSaid(text: string): void {
    this.agentWords.push(new Set(words(text)));
    if (this.agentWords.length > 2) this.agentWords.shift();
  }

  /**
   * Is `text` (with the recogniser's `confidence`) a turn when heard over agent speech? Real words,
   * sure enough, not the agent's own, and from an utterance our VAD heard. With a second opinion (`fixed`: open
   * vocabulary, whose n-gram decode turns every murmur into words) that decides instead of the words and their
   * confidence: an interruption or a sentence is a turn, backchannels and sink sounds are not (`speechMs`, the
   * utterance's voiced length, tells a sentence forced onto the sink from a murmur).
   */
  overTurn(text: string, confidence?: number, fixed?: SecondOpinion, speechMs?: number): boolean {
    const real = words(text).filter((w) => !this.cfg.backchannels.has(w));
    if (this.unanswered === 0) return false;
    const n = this.cfg.echoWords ?? 0;
    if (n > 0 && real.length >= n && this.agentWords.some((said) => real.every((w) => said.has(w)))) return false;
    const sentenceMs = this.cfg.sentenceMs ?? this.cfg.backchannelMaxMs;
    if (fixed) return secondOpinion(fixed.text, speechMs ?? 0, sentenceMs) !== "backchannel";
    if (real.length === 0) return false;
    if (this.cfg.minConfidence && confidence !== undefined && confidence < this.cfg.minConfidence) return false;
    return true;
  }

  speechStarted(atMs: number): void {
    this.held = null;
    this.unanswered++;
    this.speaking = true;
    this.voicedFromMs = atMs;
    this.uttFromMs = atMs;
    this.heardInterruption = false;
    this.checkedAtVoicedMs = null;
    this.nonTurn = false;
    this.partialWords = 0;
    this.onlyBackchannel = false;
  }

  /** The caller stopped at `atMs` (stream clock) after `durationMs` of speech. */
  speechStopped(atMs: number, durationMs: number): void {
    this.speaking = false;
    if (this.pausedAtMs !== null && durationMs > this.cfg.backchannelMaxMs) this.awaitingSinceMs = atMs;
  }

  /** Quiet (ms) an early check's decision waits for: the audio a check asked ahead of it is decoded as. */
  get resumeGapMs(): number {
    return this.cfg.resumeGapMs;
  }

  /** A transcript of a paused-over sentence is still to come: a resume now would replay a cut reply. */
  get awaitingTranscript(): boolean {
    return this.awaitingSinceMs !== null;
  }

  partial(text: string): void {
    this.partialWords = realWords(text, this.cfg.backchannels);
    this.onlyBackchannel = this.partialWords === 0 && words(text).length > 0;
  }

  /** A second opinion heard an interruption in the utterance now ending: its final is a turn whatever it says. */
  get interruptionHeard(): boolean {
    return this.heardInterruption;
  }

  /**
   * The utterance now ending was judged a non-turn by an early check with no voice after it: its final
   * (the same audio plus its tail) is not a turn even if its words differ; the grammar decode of a murmur
   * can flip between the sink and a phrase ("uh huh" / "that works") on a few frames.
   */
  get judgedNonTurn(): boolean {
    return this.nonTurn;
  }

  /** A final transcript ends the caller's turn; over agent speech it must pass `overTurn`. */
  final(
    text: string,
    agent: AgentState,
    confidence?: number,
    fixed?: SecondOpinion,
    speechMs?: number,
  ): BargeInDecision {
    const over = this.pausedAtMs !== null || agent === "speaking";
    // Over the agent a second opinion's turn counts as words even when they are all backchannels ("no" is one
    // to the list, an interruption to the grammar).
    const interrupted = over && this.heardInterruption;
    this.heardInterruption = false;
    const real = interrupted
      ? 1
      : this.nonTurn || (over && !this.overTurn(text, confidence, fixed, speechMs))
        ? 0
        : over && fixed
          ? 1
          : realWords(text, this.cfg.backchannels);
    this.unanswered = Math.max(0, this.unanswered - 1);
    this.nonTurn = false;
    this.held = null;
    this.speaking = false;
    this.partialWords = 0;
    this.awaitingSinceMs = null;
    if (this.pausedAtMs !== null) {
      this.pausedAtMs = null;
      if (real > 0) return "confirm";
      this.resumedBy = "final";
      return "resume";
    }
    // A real sentence that finished before the duration threshold still interrupts a speaking agent.
    if (this.cfg.enabled && agent === "speaking" && real > 0 && real >= this.cfg.speaking.minWords) return "confirm";
    return null;
  }

  /**
   * The answer to a `check`: the running utterance decoded as `text`. Before `resumeGapMs` of quiet it is
   * held (null now; `tick` returns it once the gap is up, unless the caller spoke again).
   */
  checked(
    text: string,
    atVoicedMs: number,
    nowMs: number,
    confidence?: number,
    fixed?: SecondOpinion,
  ): BargeInDecision {
    if (this.pausedAtMs === null) return null;
    // An interruption the second opinion heard in this utterance stays heard, whatever came after it.
    if (fixed && atVoicedMs >= this.uttFromMs && this.unanswered > 0)
      this.heardInterruption ||= secondOpinion(fixed.text, 0, Infinity) === "interruption";
    // Voice came back since: stale. (The utterance may have ended meanwhile: the same audio, still valid.)
    if (atVoicedMs !== this.lastVoicedMs) return null;
    const turn = this.heardInterruption || this.overTurn(text, confidence, fixed, atVoicedMs - this.uttFromMs);
    const d = turn ? "confirm" : "resume";
    if (nowMs - this.quietFromMs < this.cfg.resumeGapMs) {
      this.held = { d, atVoicedMs };
      return null;
    }
    return this.settle(d, nowMs);
  }

  private settle(d: "confirm" | "resume", nowMs: number): BargeInDecision {
    this.held = null;
    this.pausedAtMs = null;
    this.awaitingSinceMs = null;
    if (d === "confirm") return "confirm";
    // A non-turn: resume, and count speech afresh from the next voiced frame, so the same noise does not pause again.
    this.voicedFromMs = null;
    this.checkedAtVoicedMs = nowMs;
    this.nonTurn = true;
    this.resumedBy = "check";
    return "resume";
  }

  /**
   * Call on every inbound frame with the stream clock and the pipeline's last voiced frame
   * (`lastVoicedMs`; without it, every frame of an utterance counts as voiced).
   */
  tick(nowMs: number, agent: AgentState, lastVoicedMs = nowMs, lastLoudMs = lastVoicedMs): BargeInDecision {
    this.lastVoicedMs = lastVoicedMs;
    if (this.voicedFromMs === null && this.checkedAtVoicedMs !== null && lastVoicedMs > this.checkedAtVoicedMs) {
      this.voicedFromMs = lastVoicedMs - 20; // the caller goes on: what follows is judged afresh
      this.nonTurn = false;
    }
    // The quiet gap counts from the last loud frame: the VAD's hangover (60–80 ms of "speech" after a sound) would delay every resume.
    this.quietFromMs = Math.min(lastVoicedMs, lastLoudMs);
    const quietMs = nowMs - this.quietFromMs;
    if (this.held && this.held.atVoicedMs !== lastVoicedMs) this.held = null; // the caller went on: judged afresh
    if (this.pausedAtMs !== null) {
      if (this.held && quietMs >= this.cfg.resumeGapMs) return this.settle(this.held.d, nowMs);
      const gap = this.checkAhead ? (this.cfg.checkGapMs ?? this.cfg.resumeGapMs) : this.cfg.resumeGapMs;
      if (this.earlyCheck && this.speaking && quietMs >= gap && this.checkedAtVoicedMs !== lastVoicedMs) {
        this.checkedAtVoicedMs = lastVoicedMs;
        return "check";
      }
      if (this.awaitingSinceMs !== null) {
        if (nowMs - this.awaitingSinceMs < this.cfg.recognitionTimeoutMs) return null;
        // The recogniser never answered: treat the sentence as a turn (drop, do not replay).
        this.awaitingSinceMs = null;
        this.pausedAtMs = null;
        return "confirm";
      }
      if (!this.speaking && nowMs - this.pausedAtMs >= this.cfg.falseInterruptionMs) {
        this.pausedAtMs = null;
        this.resumedBy = "timer";
        return "resume";
      }
      return null;
    }
    if (!this.cfg.enabled || agent === "idle" || !this.speaking || this.onlyBackchannel) return null;
    const t = this.cfg[agent];
    if (this.voicedFromMs === null) return null;
    if (lastVoicedMs - this.voicedFromMs >= t.minSpeechMs && this.partialWords >= t.minWords) {
      this.pausedAtMs = nowMs;
      return "pause";
    }
    return null;
  }
}
