import { randomUUID } from "node:crypto";
import type { AudioChunkHeaders } from "@voicecall/contracts";
import type { UtteranceAudio } from "../playout";
import { AfterHeard, type HeardWhat } from "./after-heard";
import type { BridgeOptions } from "./bridge-options";
import { CallerSilence } from "./caller-silence";
import { ModelOutput, type OutResponse } from "./output";
import { ReconnectPolicy } from "./reconnect-policy";
import { dtmfText, prompts, realtimeTools, toolAction } from "./tools";
import { TranscriptLines, toHistory } from "./transcript-lines";
import { RealtimeError, type RealtimeEvent, type RealtimeModel, type RealtimeSession } from "./types";

/**
 * One stream's conversation with a realtime model: caller audio up, model audio out through the
 * playout (marks say what was heard), barge-in, tools, greeting. The parts that stand alone have their
 * own files: the output and its played positions (`output.ts`), actions held until heard
 * (`after-heard.ts`), the silence re-prompt (`caller-silence.ts`), the transcript (`transcript-lines.ts`)
 * and the vendor failing (`reconnect-policy.ts`: one reconnect, then an apology in the local voice and
 * a hang-up, so the call never goes silent). It takes the place of `SpeechLoop` in the session; the agent
 * service stands aside for these calls.
 */
export class RealtimeBridge {
  private session?: RealtimeSession;
  private readonly out: ModelOutput;
  private readonly after: AfterHeard;
  private readonly silence: CallerSilence;
  private readonly lines: TranscriptLines;
  private readonly policy: ReconnectPolicy;
  private ending = false;
  private closed = false;
  private greetingDone: boolean;
  private callerSpeaking = false;
  /** The model's input clock at the caller's speech onset (for `speech.stopped.durationMs`). */
  private speechFromMs?: number;
  /** The session died mid-answer: ask for the answer again once reconnected. */
  private answerAgain = false;
  private readonly notify: boolean;

  constructor(private readonly o: BridgeOptions) {
    this.out = new ModelOutput(o.playout);
    this.after = new AfterHeard(o.settings.actionTimeoutMs);
    this.silence = new CallerSilence(o.settings.silenceRepromptMs, (n) => this.onSilence(n));
    this.lines = new TranscriptLines(o.ports.appendTranscript, this.out, o.emit, o.log);
    this.policy = new ReconnectPolicy(o.model.label, o.log, o.emit);
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
    this.lines.caller(text, false);
  }

  /** The playout's last mark of an utterance echoed: it was heard. */
  onPlayed(u: UtteranceAudio): void {
    const it = this.out.played(u);
    if (this.after.utterancePlayed(u.id) || !it) return;
    this.lines.item(it);
    const r = this.out.response(it.responseId);
    if (r && this.out.heard(r)) this.responseHeard(r);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.silence.pause();
    this.after.cancel();
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
        this.o.log.info(
          { model: this.o.model.label, history: history.length, reconnects: this.policy.count },
          "realtime session open",
        );
        void this.follow(s);
        if (!this.greetingDone) s.respond(prompts.greeting(this.o.call.greeting!), this.notify ? "notify" : "greeting");
        else if (this.answerAgain) s.respond();
        else this.armSilence();
        this.answerAgain = false;
        return;
      } catch (err) {
        const e =
          err instanceof RealtimeError ? err : new RealtimeError((err as Error).message, "connect_failed", true);
        if (this.closed || this.nextStep(e.code, e.message, e.retryable) !== "reconnect") return;
      }
    }
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
        emit({
          type: "speech.stopped",
          durationMs: from !== undefined && ev.audioEndMs !== undefined ? Math.max(0, ev.audioEndMs - from) : 0,
        });
        return;
      }
      case "response.started":
        this.out.started(ev.responseId, ev.tag);
        this.silence.pause();
        return;
      case "audio":
        this.out.audio(ev.responseId, ev.itemId, ev.audio);
        return;
      case "audio.done":
        return this.out.audioDone(ev.itemId);
      case "transcript.agent": {
        const it = this.out.items.get(ev.itemId);
        if (it) ((it.text = ev.text), this.lines.item(it));
        return;
      }
      case "transcript.caller":
        if (ev.text.trim()) this.lines.caller(ev.text);
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
        if (ev.limits.some((l) => l.remaining === 0))
          this.o.log.warn({ limits: ev.limits }, "realtime rate limit reached");
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
    this.silence.heard();
    this.o.emit({ type: "speech.started", agentSpeaking: this.o.playout.speaking });
    if (!this.o.settings.bargeIn || this.notify || this.ending) return;
    for (const c of this.out.cut()) {
      this.session?.truncate(c.item.id, c.heardMs);
      this.o.emit({ type: "interrupted", utteranceId: c.item.id, playedMs: c.heardMs, totalMs: c.totalMs });
      if (c.audible) this.o.log.info({ utteranceId: c.item.id, playedMs: c.heardMs, totalMs: c.totalMs }, "barge-in");
      this.lines.item(c.item);
    }
  }

  private tool(responseId: string, callId: string, name: string, args: Record<string, unknown>): void {
    const a = toolAction(name, args);
    this.o.log.info({ tool: name, action: a.kind }, "tool call");
    const s = this.session;
    if (a.kind === "refused" || a.kind === "digits") {
      if (a.kind === "digits") this.o.ports.sendDigits(a.digits);
      s?.toolOutput(
        callId,
        JSON.stringify(a.kind === "digits" ? { ok: true, sent: a.digits } : { ok: false, error: a.why }),
      );
      s?.respond();
      return;
    }
    s?.toolOutput(callId, JSON.stringify({ ok: true }));
    this.ending = true;
    const { ports } = this.o;
    if (a.kind === "hangup") return this.afterHeard({ responseId }, () => ports.hangup(a.reason));
    this.afterHeard({ responseId }, () => (this.lines.system(`transferred to ${a.to}`), ports.transfer(a.to)));
  }

  /** A response was heard in full. */
  private responseHeard(r: OutResponse): void {
    if (this.after.responseHeard(r)) return;
    if ((r.tag === "greeting" || r.tag === "notify") && !this.greetingDone) {
      this.greetingDone = true;
      void this.o.ports
        .greetingPlayed()
        .catch((err: Error) => this.o.log.warn({ err: err.message }, "greetingPlayed not recorded"));
      this.o.log.info({ kind: r.tag }, "must-hear message played");
      if (r.tag === "notify") return this.o.ports.hangup("notify-complete");
    }
    this.armSilence();
  }

  /** Run `run` once the response (or our own utterance) was heard, or after the action timeout anyway. */
  private afterHeard(what: HeardWhat, run: () => void): void {
    const r = what.responseId ? this.out.response(what.responseId) : undefined;
    this.after.hold(what, run, !!r && this.out.heard(r) && !this.o.playout.speaking);
  }

  private armSilence(): void {
    const busy =
      this.ending ||
      this.notify ||
      this.closed ||
      this.callerSpeaking ||
      this.out.inProgress ||
      this.o.playout.speaking;
    this.silence.arm(busy);
  }

  private onSilence(silences: number): void {
    if (this.ending || this.closed || !this.session) return;
    this.o.log.info({ silences }, "caller silent");
    if (silences === 1) return this.session.respond(prompts.reprompt, "prompt");
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

  private nextStep(code: string, message: string, retryable = true): "reconnect" | "stop" {
    const step = this.policy.decide(code, message, retryable, this.ending && this.after.waiting);
    if (step === "apologise") this.apologise(code);
    return step === "reconnect" ? "reconnect" : "stop";
  }

  private apologise(code: string): void {
    this.ending = true;
    this.silence.pause();
    this.out.cut();
    const id = `apology-${randomUUID().slice(0, 8)}`;
    this.lines.system(`realtime model unavailable (${code})`);
    this.o.ports.sayLocal(id, this.o.settings.apology, this.out.nextGeneration);
    this.afterHeard({ utteranceId: id }, () => this.o.ports.hangup("realtime-unavailable"));
  }
}
