import { randomUUID } from "node:crypto";
import type { AudioChunkHeaders, CallRecord, TranscriptEntry } from "@voicecall/contracts";
import type { Logger } from "@voicecall/log";
import type { Playout, UtteranceAudio } from "../playout";
import type { Emit } from "../stream-events";
import { ModelOutput, type OutItem, type OutResponse } from "./output";
import { dtmfText, prompts, realtimeTools, toolAction } from "./tools";
import { RealtimeError, type HistoryItem, type RealtimeEvent, type RealtimeModel, type RealtimeSession } from "./types";

/** What the bridge does outside itself: the call's transcript, call control, and the local voice (tts). */
export interface BridgePorts {
  transcript(): Promise<TranscriptEntry[]>;
  appendTranscript(e: TranscriptEntry): Promise<void>;
  greetingPlayed(): Promise<void>;
  hangup(reason: string): void;
  transfer(to: string): void;
  /** Say `text` in the local voice (tts); its audio comes back on the call's audio subject. */
  sayLocal(utteranceId: string, text: string, generation: number): void;
  sendDigits(digits: string): void;
}

export interface BridgeSettings {
  instructions: string;
  bargeIn: boolean;
  silenceRepromptMs: number;
  actionTimeoutMs: number;
  apology: string;
}

export interface BridgeOptions {
  call: CallRecord;
  model: RealtimeModel;
  playout: Playout;
  emit: Emit;
  /** The caller's end of speech: the reply's latency counts from here (the session keeps the clock). */
  onCallerFinal: () => void;
  ports: BridgePorts;
  settings: BridgeSettings;
  log: Logger;
  signal: AbortSignal;
}

/**
 * One stream's conversation with a realtime model: caller audio up, model audio out through the
 * playout (marks say what was heard), barge-in, tools, transcripts, greeting, silence, and a failing
 * vendor (one reconnect, then an apology in the local voice and a hang-up: the call never goes silent).
 * It takes the place of `SpeechLoop` in the session; the agent service stands aside for these calls.
 */
export class RealtimeBridge {
  private session?: RealtimeSession;
  private readonly out: ModelOutput;
  private reconnects = 0;
  private ending = false;
  private closed = false;
  private greetingDone: boolean;
  private callerSpeaking = false;
  /** The model's input clock at the caller's speech onset (for `speech.stopped.durationMs`). */
  private speechFromMs?: number;
  private silences = 0;
  private silenceTimer?: NodeJS.Timeout;
  /** An action waiting for the response that asked for it to be heard (end_call, transfer, goodbye). */
  private after?: { responseId?: string; tag?: string; utteranceId?: string; run: () => void; timer: NodeJS.Timeout };
  /** The session died mid-answer: ask for the answer again once reconnected. */
  private answerAgain = false;
  private readonly notify: boolean;

  constructor(private readonly o: BridgeOptions) {
    this.out = new ModelOutput(o.playout);
    this.greetingDone = o.call.greetingPlayed || !o.call.greeting;
    this.notify = o.call.mode === "notify";
    void this.open();
  }

  /** One inbound 20 ms μ-law frame: straight to the model, no resampling. */
  push(frame: Uint8Array): void {
    if (!this.ending) this.session?.appendAudio(frame);
  }

  /** Audio from the bus: only our own local-voice lines (the apology) travel that way. */
  audio(h: AudioChunkHeaders, payload: Uint8Array): void {
    this.o.playout.push(h, payload);
  }

  dtmf(digit: string): void {
    if (this.ending || this.notify || !this.session) return;
    const text = dtmfText(digit);
    this.session.addText("user", text);
    this.session.respond();
    void this.write({ role: "caller", text, ts: Date.now() });
  }

  /** The playout's last mark of an utterance echoed: it was heard. */
  onPlayed(u: UtteranceAudio): void {
    const it = this.out.played(u);
    if (this.after?.utteranceId === u.id) return this.runAfter();
    if (!it) return;
    this.writeItem(it);
    const r = this.out.response(it.responseId);
    if (r && this.out.heard(r)) this.responseHeard(r);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.silenceTimer);
    if (this.after) clearTimeout(this.after.timer);
    this.session?.close();
  }

  private async open(): Promise<void> {
    const history = await this.o.ports.transcript().then(toHistory, () => []);
    for (;;) {
      try {
        const s = await this.o.model.connect({
          instructions: this.o.settings.instructions,
          tools: this.notify ? [] : realtimeTools,
          history,
          respondToSpeech: !this.notify,
          interruptOnSpeech: this.o.settings.bargeIn && !this.notify,
          signal: this.o.signal,
        });
        if (this.closed) return s.close();
        this.session = s;
        this.o.log.info({ model: this.o.model.label, history: history.length, reconnects: this.reconnects }, "realtime session open");
        void this.follow(s);
        if (!this.greetingDone) this.sayGreeting();
        else if (this.answerAgain) s.respond();
        else this.armSilence();
        this.answerAgain = false;
        return;
      } catch (err) {
        const e = err instanceof RealtimeError ? err : new RealtimeError((err as Error).message, "connect_failed", true);
        if (this.closed || this.nextStep(e.code, e.message, e.retryable) !== "reconnect") return;
      }
    }
  }

  private sayGreeting(): void {
    this.session?.respond(prompts.greeting(this.o.call.greeting!), this.notify ? "notify" : "greeting");
  }

  private async follow(s: RealtimeSession): Promise<void> {
    for await (const ev of s.events) {
      if (this.closed || this.session !== s) return;
      this.onEvent(ev);
    }
  }

  private onEvent(ev: RealtimeEvent): void {
    const { emit } = this.o;
    switch (ev.type) {
      case "speech.started":
        this.speechFromMs = ev.audioStartMs;
        return this.speechStarted();
      case "speech.stopped": {
        this.callerSpeaking = false;
        this.o.onCallerFinal();
        const from = this.speechFromMs;
        emit({ type: "speech.stopped", durationMs: from !== undefined && ev.audioEndMs !== undefined ? Math.max(0, ev.audioEndMs - from) : 0 });
        return;
      }
      case "response.started":
        this.out.started(ev.responseId, ev.tag);
        clearTimeout(this.silenceTimer);
        return;
      case "audio":
        this.out.audio(ev.responseId, ev.itemId, ev.audio);
        return;
      case "audio.done":
        return this.out.audioDone(ev.itemId);
      case "transcript.agent": {
        const it = this.out.items.get(ev.itemId);
        if (it) (it.text = ev.text), this.writeItem(it);
        return;
      }
      case "transcript.caller":
        if (!ev.text.trim()) return;
        emit({ type: "transcript.final", text: ev.text });
        void this.write({ role: "caller", text: ev.text, ts: Date.now() });
        return;
      case "tool.call":
        return this.tool(ev.responseId, ev.callId, ev.name, ev.args);
      case "response.done": {
        const r = this.out.done(ev.responseId);
        if (ev.status === "failed") {
          this.answerAgain = this.greetingDone; // the caller is still waiting for this answer
          return this.failed(ev.code ?? "response_failed", "response failed");
        }
        if (this.out.heard(r)) this.responseHeard(r);
        return;
      }
      case "rate-limits":
        if (ev.limits.some((l) => l.remaining === 0)) this.o.log.warn({ limits: ev.limits }, "realtime rate limit reached");
        return;
      case "error":
        if (ev.fatal) return void this.failed(ev.code, ev.message);
        this.o.log.warn({ code: ev.code, message: ev.message }, "realtime error event");
        emit({ type: "realtime.error", code: ev.code, message: ev.message, action: "ignored" });
        return;
      case "closed":
        return void this.failed(`close_${ev.code}`, ev.reason || "socket closed");
    }
  }

  /** The model heard the caller start: `clear` at once, and the model forgets what was not heard. */
  private speechStarted(): void {
    this.callerSpeaking = true;
    this.silences = 0;
    clearTimeout(this.silenceTimer);
    this.o.emit({ type: "speech.started", agentSpeaking: this.o.playout.speaking });
    if (!this.o.settings.bargeIn || this.notify || this.ending) return;
    for (const c of this.out.cut()) {
      this.session?.truncate(c.item.id, c.heardMs);
      this.o.emit({ type: "interrupted", utteranceId: c.item.id, playedMs: c.heardMs, totalMs: c.totalMs });
      if (c.audible) this.o.log.info({ utteranceId: c.item.id, playedMs: c.heardMs, totalMs: c.totalMs }, "barge-in");
      this.writeItem(c.item);
    }
  }

  private tool(responseId: string, callId: string, name: string, args: Record<string, unknown>): void {
    const a = toolAction(name, args);
    this.o.log.info({ tool: name, action: a.kind }, "tool call");
    const s = this.session;
    if (a.kind === "refused") {
      s?.toolOutput(callId, JSON.stringify({ ok: false, error: a.why }));
      s?.respond();
      return;
    }
    if (a.kind === "digits") {
      this.o.ports.sendDigits(a.digits);
      s?.toolOutput(callId, JSON.stringify({ ok: true, sent: a.digits }));
      s?.respond();
      return;
    }
    s?.toolOutput(callId, JSON.stringify({ ok: true }));
    this.ending = true;
    const { ports } = this.o;
    this.afterHeard({ responseId }, a.kind === "hangup" ? () => ports.hangup(a.reason) : () => (void this.write({ role: "system", text: `transferred to ${a.to}`, ts: Date.now() }), ports.transfer(a.to)));
  }

  /** A response was heard in full. */
  private responseHeard(r: OutResponse): void {
    if (this.after && (this.after.responseId === r.id || (this.after.tag !== undefined && this.after.tag === r.tag))) return this.runAfter();
    if ((r.tag === "greeting" || r.tag === "notify") && !this.greetingDone) {
      this.greetingDone = true;
      void this.o.ports.greetingPlayed().catch((err: Error) => this.o.log.warn({ err: err.message }, "greetingPlayed not recorded"));
      this.o.log.info({ kind: r.tag }, "must-hear message played");
      if (r.tag === "notify") return this.o.ports.hangup("notify-complete");
    }
    this.armSilence();
  }

  /** Run `run` once the response (or our own utterance) was heard, or after the action timeout anyway. */
  private afterHeard(what: { responseId?: string; tag?: string; utteranceId?: string }, run: () => void): void {
    if (this.after) clearTimeout(this.after.timer);
    const r = what.responseId ? this.out.response(what.responseId) : undefined;
    if (r && this.out.heard(r) && !this.o.playout.speaking) return run();
    const timer = setTimeout(() => this.runAfter(), this.o.settings.actionTimeoutMs);
    this.after = { ...what, run, timer };
  }

  private runAfter(): void {
    const a = this.after;
    if (!a) return;
    this.after = undefined;
    clearTimeout(a.timer);
    a.run();
  }

  private armSilence(): void {
    clearTimeout(this.silenceTimer);
    const ms = this.o.settings.silenceRepromptMs;
    if (ms <= 0 || this.ending || this.notify || this.closed || this.callerSpeaking || this.out.inProgress || this.o.playout.speaking) return;
    this.silenceTimer = setTimeout(() => this.onSilence(), ms);
  }

  private onSilence(): void {
    if (this.ending || this.closed || !this.session) return;
    this.silences++;
    this.o.log.info({ silences: this.silences }, "caller silent");
    if (this.silences === 1) return this.session.respond(prompts.reprompt, "prompt");
    this.ending = true;
    const tag = `bye-${randomUUID().slice(0, 8)}`;
    // Its response id is known only when it starts: wait on its tag.
    this.afterHeard({ tag }, () => this.o.ports.hangup("caller-silent"));
    this.session.respond(prompts.goodbye, tag);
  }

  /** The session failed mid-call (socket gone, fatal error, failed response). */
  private failed(code: string, message: string): void {
    if (this.closed || !this.session) return;
    const old = this.session;
    this.session = undefined;
    old.close();
    // A half-said answer is not left hanging: it is dropped and asked for again on the new session.
    this.answerAgain ||= this.out.inProgress && this.greetingDone;
    if (this.out.inProgress) this.out.cut();
    this.out.abandon();
    if (this.nextStep(code, message) === "reconnect") void this.open();
  }

  /** One reconnect per stream (none for a final refusal, e.g. a bad key); after that, an apology in the local voice and a hang-up. */
  private nextStep(code: string, message: string, retryable = true): "reconnect" | "stop" {
    if (this.ending && this.after) {
      this.o.log.warn({ code }, "realtime session lost while the call is ending");
      return "stop";
    }
    if (this.reconnects < 1 && retryable) {
      this.reconnects++;
      this.o.log.warn({ code, message, model: this.o.model.label }, "realtime model failed, reconnecting once");
      this.o.emit({ type: "realtime.error", code, message, action: "reconnect" });
      return "reconnect";
    }
    this.o.log.error({ code, message, model: this.o.model.label }, "realtime model unavailable, apologising and hanging up");
    this.o.emit({ type: "realtime.error", code, message, action: "apology" });
    this.apologise(code);
    return "stop";
  }

  private apologise(code: string): void {
    this.ending = true;
    clearTimeout(this.silenceTimer);
    this.out.cut();
    const id = `apology-${randomUUID().slice(0, 8)}`;
    void this.write({ role: "system", text: `realtime model unavailable (${code})`, ts: Date.now() });
    this.o.ports.sayLocal(id, this.o.settings.apology, this.out.nextGeneration);
    this.afterHeard({ utteranceId: id }, () => this.o.ports.hangup("realtime-unavailable"));
  }

  /** Write what the caller heard of an item, once its text is known and it is played or cut. */
  private writeItem(it: OutItem): void {
    const text = this.out.heardText(it);
    if (text === undefined || it.written) return;
    it.written = true;
    if (!text) return;
    const interrupted = it.state === "cut" ? true : undefined;
    this.o.emit({ type: "transcript.agent", utteranceId: it.id, text, interrupted });
    void this.write({ role: "agent", text, ts: Date.now(), utteranceId: it.id, interrupted });
  }

  private write(e: TranscriptEntry): Promise<void> {
    return this.o.ports.appendTranscript(e).catch((err: Error) => this.o.log.warn({ err: err.message }, "transcript line not written"));
  }
}

/** The call's transcript as the model's conversation: caller and agent lines, in order. */
export function toHistory(t: TranscriptEntry[]): HistoryItem[] {
  return t.filter((e) => e.role !== "system" && e.text.trim()).map((e) => ({ role: e.role === "caller" ? "user" : "assistant", text: e.text }));
}
