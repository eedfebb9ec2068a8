import type { Logger } from "@voicecall/log";
import type { AudioChunkHeaders } from "@voicecall/contracts";
import { FRAME_MS } from "@voicecall/audio";
import type { SpeechEvent, SpeechPipeline } from "./speech/types";
import type { BargeInDecision, BargeInPolicy, AgentState } from "./barge-in";
import { msOf, type Playout } from "./playout";
import { LevelFloor, type LevelFloorConfig } from "./level-floor";
import type { Emit } from "./stream-events";

export interface SpeechLoopOptions {
  pipeline: SpeechPipeline;
  playout: Playout;
  policy: BargeInPolicy;
  thinkingWindowMs: number;
  /** Echo guard and background-speech floor (absent: no floor). */
  levels?: LevelFloorConfig;
  countsAsWords: (text: string) => boolean;
  emit: Emit;
  /** The caller finished a turn (a final with words): the reply's latency counts from here. */
  onCallerFinal: () => void;
  /** A paused utterance resumed; returns the call's count so far. */
  onFalseInterruption: () => number;
  log: Logger;
}

/**
 * Caller audio → speech pipeline → events, and the barge-in loop around the playout. The clock is the
 * inbound stream itself (20 ms per frame), so decisions do not depend on timers or load.
 */
export class SpeechLoop {
  private streamMs = 0;
  private lastFinalAtMs: number | null = null;
  /** The utterance a barge-in cut, reported in `interrupted`. */
  private interrupted?: { id: string; generation: number };
  private readonly levels?: LevelFloor;
  private floor = 0;
  private over = false;
  /** The last early check's answer and what it cost (reported with the resume it leads to). */
  private lastCheck?: { wallMs: number; decodeMs?: number; queuedMs?: number; behindMs?: number; behindJobs?: number };

  constructor(private readonly o: SpeechLoopOptions) {
    if (o.levels && o.pipeline.setLevelFloor) this.levels = new LevelFloor(o.levels);
    o.policy.earlyCheck = !!(o.pipeline.peek ?? o.pipeline.endNow);
    o.policy.checkAhead = !!o.pipeline.peek;
    void this.run();
  }

  /** One inbound 20 ms mu-law frame. */
  push(frame: Uint8Array): void {
    this.streamMs += FRAME_MS;
    const { pipeline, policy, playout } = this.o;
    if (this.levels) {
      const floor = this.levels.floor(playout.speaking ? playout.current()?.id : undefined);
      if (floor !== this.floor) pipeline.setLevelFloor!((this.floor = floor));
    }
    const over = playout.speaking || policy.paused;
    if (over !== this.over) pipeline.setOverAgent?.((this.over = over));
    try {
      pipeline.push(frame);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, "speech pipeline push failed");
    }
    this.apply(policy.tick(this.streamMs, this.agentState(), pipeline.lastVoicedMs, pipeline.lastLoudMs));
  }

  /** One chunk of agent audio from the bus. */
  audio(h: AudioChunkHeaders, payload: Uint8Array): void {
    this.o.playout.pushSpoken(h, payload);
    this.queued(h, payload);
  }

  /** A chunk of agent audio already pushed to the playout (the pre-rendered greeting, written before this loop opened). */
  queued(h: AudioChunkHeaders, payload: Uint8Array): void {
    this.levels?.agentAudio(h.utteranceId, payload);
    if (h.seq === 0 && h.text) this.o.policy.agentSaid(h.text);
    this.lastFinalAtMs = null;
  }

  close(): void {
    try {
      this.o.pipeline.close();
    } catch {
      /* closing twice is fine */
    }
  }

  private agentState(): AgentState {
    if (this.o.playout.speaking) return "speaking";
    if (this.lastFinalAtMs !== null && this.streamMs - this.lastFinalAtMs < this.o.thinkingWindowMs) return "thinking";
    return "idle";
  }

  private async run(): Promise<void> {
    try {
      for await (const ev of this.o.pipeline.events) this.onSpeech(ev);
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, "speech pipeline ended with an error");
    }
  }

  private onSpeech(ev: SpeechEvent): void {
    const { emit, policy } = this.o;
    switch (ev.type) {
      case "speech.started":
        emit({ type: "speech.started", agentSpeaking: this.o.playout.speaking });
        // The pipeline's onset (ms of stream audio, same clock as ours): speech counts from its start.
        policy.speechStarted(Math.min(ev.atMs, this.streamMs));
        return;
      case "speech.stopped":
        policy.speechStopped(Math.min(ev.atMs, this.streamMs), ev.durationMs);
        emit({ type: "speech.stopped", durationMs: ev.durationMs });
        return;
      case "transcript.partial":
        policy.partial(ev.text);
        emit({ type: "transcript.partial", text: ev.text });
        return;
      case "transcript.none":
        // Not a turn and not on the bus; a pause it caused may resume.
        this.apply(policy.final("", this.agentState()));
        return;
      case "transcript.final": {
        // Said over the agent (it plays, or a pause holds it, or it did when the utterance was said: a final can come
        // seconds after the agent's audio ended) with no real words: the agent must not take it as a turn.
        const over = this.o.playout.speaking || policy.paused || !!ev.overAgent;
        const backchannel =
          (over && !policy.interruptionHeard && !policy.overTurn(ev.text, ev.confidence, ev.fixed, ev.speechMs)) ||
          policy.judgedNonTurn
            ? true
            : undefined;
        const decision = policy.final(ev.text, this.agentState(), ev.confidence, ev.fixed, ev.speechMs);
        emit({
          type: "transcript.final",
          text: ev.text,
          confidence: ev.confidence,
          speechMs: ev.speechMs,
          backchannel,
        });
        // A non-turn (echo, a murmur) is neither the caller's level nor the start of the agent's thinking.
        if (this.o.countsAsWords(ev.text) && !backchannel) {
          this.levels?.callerTurn(ev.level);
          this.lastFinalAtMs = this.streamMs;
          this.o.onCallerFinal();
        }
        this.apply(decision);
        return;
      }
    }
  }

  private apply(d: BargeInDecision): void {
    if (d === "pause") this.pause();
    else if (d === "confirm") this.confirm();
    else if (d === "resume") this.resume();
    else if (d === "check") this.check();
  }

  /** Decode what the caller said so far over the paused reply; no words resumes it now. */
  private check(): void {
    const { pipeline } = this.o;
    const at = pipeline.lastVoicedMs ?? this.streamMs;
    // A streaming recogniser cannot decode a part: end the utterance and let its final decide.
    if (!pipeline.peek) return pipeline.endNow?.();
    const asked = performance.now();
    // Asked ahead of the gap: decoded as the audio the gap will have, if the caller stays quiet (else its answer is stale).
    pipeline.peek({ quietMs: this.o.policy.resumeGapMs }).then(
      (h) => {
        if (h === undefined) return;
        const wallMs = Math.round(performance.now() - asked);
        // Its cost is reported with the resume it may lead to (a stale answer, voice since, leads to none).
        if (at === pipeline.lastVoicedMs)
          this.lastCheck = {
            wallMs,
            decodeMs: h.decodeMs,
            queuedMs: h.queuedMs,
            behindMs: h.behindMs,
            behindJobs: h.behindJobs,
          };
        this.apply(this.o.policy.checked(h.text, at, this.streamMs, h.confidence, h.fixed));
      },
      (err: Error) => this.o.log.warn({ err: err.message }, "early speech check failed"),
    );
  }

  private pause(): void {
    const r = this.o.playout.pause();
    if (!r) return;
    this.interrupted = { id: r.u.id, generation: r.u.generation };
    this.o.emit({
      type: "interrupted",
      utteranceId: r.u.id,
      playedMs: r.playedMs,
      totalMs: r.totalMs,
      playedErrMs: r.errMs,
    });
    this.o.log.info(
      {
        utteranceId: r.u.id,
        playedMs: r.playedMs,
        totalMs: r.totalMs,
        playedErrMs: r.errMs,
        rttMs: this.o.playout.rttMs,
      },
      "barge-in",
    );
  }

  /** A real turn: the interrupted utterance and the rest of its turn are dropped. */
  private confirm(): void {
    const p = this.o.playout;
    if (!p.isHeld) this.pause();
    const gen = this.interrupted?.generation ?? p.current()?.generation;
    if (gen !== undefined) {
      for (const u of p.cancel(gen + 1)) {
        if (u.id === this.interrupted?.id) continue;
        this.o.emit({
          type: "interrupted",
          utteranceId: u.id,
          playedMs: msOf(u.playedBytes),
          totalMs: msOf(u.totalBytes),
        });
      }
    }
    this.interrupted = undefined;
    p.resume();
  }

  /** A false interruption: play the rest from where it stopped. */
  private resume(): void {
    const cut = this.interrupted;
    this.interrupted = undefined;
    const u = this.o.playout.resume();
    if (!cut || u?.id !== cut.id) return;
    const count = this.o.onFalseInterruption();
    // Where the time went: the caller's quiet before it (stream ms), and the early check's decode (wall ms).
    const { pipeline, policy } = this.o;
    const quietFrom = Math.min(pipeline.lastVoicedMs ?? this.streamMs, pipeline.lastLoudMs ?? this.streamMs);
    const check = policy.resumedBy === "check" ? this.lastCheck : undefined;
    const timing = {
      by: policy.resumedBy ?? undefined,
      quietMs: this.streamMs - quietFrom,
      checkMs: check?.wallMs,
      decodeMs: check?.decodeMs === undefined ? undefined : Math.round(check.decodeMs),
      queuedMs: check?.queuedMs === undefined ? undefined : Math.round(check.queuedMs),
      behindMs: check?.behindMs === undefined ? undefined : Math.round(check.behindMs),
      behindJobs: check?.behindJobs,
    };
    this.lastCheck = undefined;
    this.o.emit({
      type: "resumed",
      utteranceId: u.id,
      fromMs: msOf(u.playedBytes),
      falseInterruptions: count,
      ...timing,
    });
    this.o.log.info(
      { utteranceId: u.id, fromMs: msOf(u.playedBytes), falseInterruptions: count, ...timing },
      "false interruption, resumed",
    );
  }
}
