import { randomUUID } from "node:crypto";
import type { Subscription } from "nats";
import type { Bus } from "@voicecall/bus";
import { CallEvent, isTerminal, subjects, type CallRecord, type Purpose } from "@voicecall/contracts";
import { isBackchannel, type DialogueScript } from "@voicecall/dialogue";
import type { Logger } from "@voicecall/log";
import type { CallStore } from "@voicecall/store";
import type { AgentConfig } from "./config";
import { agentReplies, historyFromTranscript, mustHearMessage, systemPrompt, voicemailText, type MustHear } from "./call-text";
import { isEcho } from "./heard";
import { SpeechLedger } from "./ledger";
import { dtmfInput, type ChatMessage, type LanguageModel } from "./llm/types";
import { Outbox } from "./outbox";
import { SayRetries } from "./say-retries";
import { AfterMark, SilenceClock } from "./timers";
import { streamReply, type ToolCall, type Turn, type Utterance } from "./turn";

/** A caller line older than this is not answered on recovery (the caller has moved on). */
const RECOVER_MAX_AGE_MS = 30_000;

export interface ConversationDeps {
  callId: string;
  bus: Bus;
  store: CallStore;
  model: LanguageModel;
  script: DialogueScript;
  log: Logger;
  config: Pick<AgentConfig, "SILENCE_REPROMPT_MS" | "VOICEMAIL_MESSAGE" | "ACTION_MARK_TIMEOUT_MS"> & Partial<Pick<AgentConfig, "SAY_RETRY_MS">>;
  /** Called once when the call is over for us (ended, or handed on). */
  onEnd?: () => void;
}

/**
 * One call, owned by this agent instance: follows `vc.call.<id>.evt` in order and speaks through tts.
 * Turns are fenced by generation: only the newest turn may speak; older ones are cancelled in media
 * and tts and their late LLM output is dropped.
 */
export class Conversation {
  private readonly log: Logger;
  private readonly out: Outbox;
  private sub?: Subscription;
  private call!: CallRecord;
  private history: ChatMessage[] = [];
  private generation = 0;
  private turn?: Turn;
  private readonly ledger = new SpeechLedger();
  private pending?: MustHear;
  private pendingPlayed = false;
  private readonly after = new AfterMark();
  private readonly silence: SilenceClock;
  private streamLive = false;
  private ending = false;
  private stopped = false;
  /** A realtime call: only its end is followed (media's bridge talks). */
  private passive = false;
  private ready: Promise<void> = Promise.resolve();
  /** Streams that started up to this time (epoch ms) were found live at start and handled there. */
  private coveredUntil = 0;
  /** The newest caller final this process has seen (live or recovered from the call record). */
  private seenFinal = { ts: 0, text: "" };
  /** Says waiting for their first audio chunk from tts: re-sent if it does not come. */
  private readonly retries: SayRetries;

  constructor(private readonly d: ConversationDeps) {
    this.log = d.log;
    this.out = new Outbox(d.bus, d.callId);
    this.silence = new SilenceClock(d.config.SILENCE_REPROMPT_MS, (n) => this.onSilence(n));
    this.retries = new SayRetries((u, gen, end) => this.resend(u, gen, end), d.config.SAY_RETRY_MS);
  }

  /** The history as the model sees it (without the system prompt). */
  get messages(): readonly ChatMessage[] {
    return this.history.filter((m) => m.content);
  }

  /** Load the call, rebuild history from its transcript (takeover), follow its events. */
  async start(): Promise<void> {
    const { store, callId } = this.d;
    let loaded!: () => void;
    this.ready = new Promise<void>((r) => (loaded = r));
    // Subscribe first so nothing is missed; events wait for the call to be loaded.
    this.sub = this.d.bus.subscribe(subjects.evt(callId), CallEvent, (e) => this.onEvent(e));
    await this.d.bus.flush();
    const call = await store.getCall(callId);
    if (!call || isTerminal(call.state)) return this.end("call not active");
    this.call = call;
    if (call.engine === "realtime") {
      // Media's realtime bridge holds this conversation (greeting, turns, tools, silence); keeping the
      // claim (and its lease) only stops other instances and the scan from taking it up again.
      this.log.info("realtime call: media holds the conversation, agent stands aside");
      this.passive = true;
      loaded();
      return;
    }
    this.generation = call.generation ?? 0;
    this.history = historyFromTranscript(await store.transcript(callId));
    this.pending = mustHearMessage(call, this.d.script);
    this.pendingPlayed = call.greetingPlayed;
    if (call.mode === "conversation" && this.history.length === 0 && this.pending) this.history.push({ role: "assistant", content: this.pending.text });
    // Taking over a live stream: the greeting may have died with the previous owner. Done before
    // queued events run, so a `stream.started` of that same stream does not say it twice.
    if (await store.leaseOwner("stream", callId)) {
      this.streamLive = true;
      this.coveredUntil = Date.now();
      if (!this.pendingPlayed) this.sayPending();
    }
    loaded();
    if (this.streamLive) this.armSilence();
    await this.recover();
  }

  /**
   * Answer the caller's newest line if no agent heard it: its `transcript.final` was published while
   * nobody followed the call (agent restart, takeover, NATS down). Media keeps it on the call record;
   * an agent that handled it (answered or ignored) wrote `handledFinalTs` at least that high.
   */
  async recover(): Promise<void> {
    if (this.stopped || this.passive || this.ending || !this.streamLive) return;
    const call = await this.d.store.getCall(this.d.callId).catch((err: Error) => void this.log.warn({ err: err.message }, "call not read for recovery"));
    const ts = call?.lastFinalTs;
    const text = call?.lastFinalText;
    if (!call || isTerminal(call.state) || !ts || !text) return;
    if (ts <= Math.max(this.seenFinal.ts, call.handledFinalTs ?? 0) || Date.now() - ts > RECOVER_MAX_AGE_MS) return;
    this.log.info({ ageMs: Date.now() - ts }, "unanswered caller line recovered");
    await this.onCallerText(text, false, ts);
  }

  /** Stop following the call (lease lost, shutdown); does not touch the call itself. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.retries.clear();
    this.sub?.unsubscribe();
    this.turn?.ac.abort();
    this.silence.pause();
    this.after.cancel();
  }

  private end(reason: string): void {
    if (this.stopped) return;
    this.log.info({ reason }, "conversation ended");
    this.stop();
    this.d.onEnd?.();
  }

  private async onEvent(e: CallEvent): Promise<void> {
    await this.ready;
    if (this.stopped) return;
    if (this.passive) return void (e.type === "call.state" && isTerminal(e.state) && this.end(`call ${e.state}`));
    switch (e.type) {
      case "stream.started":
        this.streamLive = true;
        if (e.ts <= this.coveredUntil) return; // the stream found live at start: already handled
        // A new stream: nothing said to an earlier one is playing any more.
        this.retries.clear();
        this.ledger.clear();
        if (this.pending && !this.pendingPlayed) {
          // Media is already playing the greeting tts rendered while the phone rang: it is this say.
          if (e.greeting && this.pending.kind === "greeting") this.adoptPending(e.greeting);
          else this.sayPending();
        } else {
          this.resayUnheard();
          this.armSilence();
        }
        await this.recover();
        return;
      case "stream.stopped":
        this.streamLive = false;
        this.retries.clear();
        this.ledger.clear();
        this.silence.pause();
        return;
      case "tts.first-chunk":
        this.retries.arrived(e.utteranceId);
        return;
      case "playback.mark":
        this.retries.arrived(e.utteranceId);
        if (e.done) await this.onPlayed(e.utteranceId);
        return;
      case "interrupted":
        this.retries.arrived(e.utteranceId);
        return this.onInterrupted(e.utteranceId, e.playedMs, e.totalMs);
      case "resumed":
        return this.ledger.resumed(e.utteranceId);
      case "speech.started":
        this.callerActive();
        return;
      case "speech.stopped":
        this.armSilence();
        return;
      case "transcript.final":
        return this.onCallerText(e.text, false, e.ts, e.backchannel === true);
      case "dtmf":
        return this.onCallerText(dtmfInput(e.digit), true);
      case "amd.result":
        if (e.answeredBy.startsWith("machine_end")) await this.leaveVoicemail();
        return;
      case "operator.say":
        this.say(`o-${randomUUID().slice(0, 8)}`, e.text, "operator");
        return;
      case "call.state":
        if (isTerminal(e.state)) this.end(`call ${e.state}`);
        return;
      default:
        return;
    }
  }

  // ── must-be-heard messages ───────────────────────────────────────────────

  private sayPending(): void {
    const p = this.pending;
    if (!p || !this.streamLive) return;
    this.say(`${p.kind}-${randomUUID().slice(0, 8)}`, p.text, p.kind);
  }

  /** The pending message is playing as `utteranceId` without a say (media's pre-rendered greeting). */
  private adoptPending(utteranceId: string): void {
    this.silence.pause();
    this.ledger.said({ id: utteranceId, text: this.pending!.text, purpose: this.pending!.kind });
  }

  private async leaveVoicemail(): Promise<void> {
    if (this.pending?.kind === "voicemail") return;
    this.ending = true;
    this.turn?.ac.abort();
    this.turn = undefined;
    this.after.cancel();
    this.ledger.clear();
    this.pending = { kind: "voicemail", text: voicemailText(this.call, this.d.config.VOICEMAIL_MESSAGE, this.d.script) };
    this.pendingPlayed = false;
    this.out.cancelBefore(await this.nextGeneration());
    this.log.info("answering machine: leaving voicemail");
    this.sayPending();
  }

  private async onPlayed(utteranceId: string): Promise<void> {
    const u = this.ledger.played(utteranceId);
    const kind = this.pending?.kind;
    if (kind && utteranceId.startsWith(`${kind}-`) && !this.pendingPlayed) {
      this.pendingPlayed = true;
      // Transcript first: whoever sees greetingPlayed also finds the line it was about.
      await this.transcript("agent", this.pending!.text, utteranceId);
      if (kind !== "voicemail") await this.d.store.update(this.d.callId, { greetingPlayed: true });
      this.log.info({ kind, utteranceId }, "must-hear message played");
      if (kind === "notify") return this.hangup("notify-complete");
      if (kind === "voicemail") return this.hangup("voicemail-left");
    } else if (u && u.purpose !== this.pending?.kind) {
      await this.transcript("agent", u.text, utteranceId);
    }
    this.after.played(utteranceId);
    this.armSilence();
  }

  private async onInterrupted(utteranceId: string, playedMs: number, totalMs: number): Promise<void> {
    const { cut, final } = this.ledger.interrupted(utteranceId, playedMs, totalMs);
    if (!cut) return;
    this.log.info({ utteranceId, playedMs, totalMs }, "agent interrupted");
    if (final && cut.cut) await this.transcript("agent", cut.cut, cut.id, true);
  }

  // ── turns ───────────────────────────────────────────────────────────────

  /** `finalTs`: the `ts` of a `transcript.final` (the same media wrote to the call record). */
  /** `backchannel`: media heard it over agent speech as an acknowledgement ("yeah"), not a turn. */
  private async onCallerText(text: string, dtmf: boolean, finalTs?: number, backchannel = false): Promise<void> {
    if (finalTs !== undefined) {
      const seen = this.seenFinal;
      if (finalTs < seen.ts || (finalTs === seen.ts && text === seen.text)) return; // heard already (live and recovered)
      this.seenFinal = { ts: finalTs, text };
    }
    this.callerActive();
    if (!text.trim() || this.ending || this.call?.mode === "notify") return this.handled(finalTs);
    if (!dtmf && this.ledger.busy && isEcho(text, this.ledger.speakingText())) {
      this.log.debug({ pii: { text } }, "ignored own echo");
      return this.handled(finalTs);
    }
    if (!dtmf && (backchannel || isBackchannel(text))) {
      this.log.debug({ pii: { text } }, "ignored backchannel");
      return this.handled(finalTs);
    }
    const generation = await this.nextGeneration();
    await this.supersede(this.turn);
    this.cancelAfter();
    this.out.cancelBefore(generation);
    await this.transcript("caller", text);
    await this.handled(finalTs);
    this.history.push({ role: "user", content: text });
    if (!agentReplies(this.call)) return;
    const turn: Turn = { generation, startedAt: Date.now(), ac: new AbortController(), said: [], finished: false };
    this.turn = turn;
    void this.runTurn(turn);
  }

  /** A newer turn replaces `turn`: stop it; a cut this confirms goes to the transcript. */
  private async supersede(turn: Turn | undefined): Promise<void> {
    turn?.ac.abort();
    const cut = this.ledger.supersede(turn);
    if (cut?.cut) await this.transcript("agent", cut.cut, cut.id, true);
  }

  private stale(turn: Turn): boolean {
    return this.stopped || this.turn !== turn || turn.ac.signal.aborted;
  }

  private async runTurn(turn: Turn): Promise<void> {
    // Turns cut before any word was heard leave empty messages: kept in place for late
    // `interrupted` reports, left out of what the model reads.
    const messages: ChatMessage[] = [{ role: "system", content: systemPrompt(this.call) }, ...this.history.filter((m) => m.content)];
    let tools: ToolCall[] = [];
    try {
      const r = await streamReply(this.d.model, messages, turn.ac.signal, () => this.stale(turn), (s, end) => this.sayReply(turn, s, end));
      if (!r) return;
      tools = r;
    } catch (err) {
      if (this.stale(turn)) return;
      this.log.error({ err: (err as Error).message, model: this.d.model.label }, "llm failed");
      this.sayReply(turn, "Sorry, I am having trouble right now. Please try again in a moment.", true);
    }
    turn.finished = true;
    this.log.info({ generation: turn.generation, latencyMs: Date.now() - turn.startedAt, sentences: turn.said.length }, "turn answered");
    for (const t of tools) this.runTool(turn, t.name, t.args);
    this.armSilence();
  }

  private sayReply(turn: Turn, text: string, endOfTurn: boolean): void {
    if (this.stale(turn)) return;
    if (turn.said.length === 0) this.out.turnStarted(turn.generation, Date.now() - turn.startedAt);
    const u: Utterance = { id: `r${turn.generation}-${turn.said.length}`, text, purpose: "reply", turn };
    turn.said.push(u);
    if (!turn.msg) {
      turn.msg = { role: "assistant", content: text };
      this.history.push(turn.msg);
    } else turn.msg.content += ` ${text}`;
    this.speak(u, turn.generation, endOfTurn);
  }

  private runTool(turn: Turn, name: string, args: Record<string, unknown>): void {
    this.log.info({ tool: name }, "tool call");
    void this.d.store.appendEvent(this.d.callId, "tool.called", { name, args }).catch((err: Error) => this.log.warn({ err: err.message }, "tool event not recorded"));
    if (name === "end_call") {
      this.ending = true;
      this.afterLast(turn, () => this.hangup(typeof args.reason === "string" ? `agent:${args.reason}` : "agent-end-call"));
    } else if (name === "transfer_call" && typeof args.to === "string" && args.to.length >= 3) {
      const to = args.to;
      this.ending = true;
      this.afterLast(turn, () => {
        void this.transcript("system", `transferred to ${to}`);
        this.out.transfer(to);
      });
    } else if (name === "send_digits" && typeof args.digits === "string") {
      try {
        this.out.sendDigits(args.digits);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "bad digits from model");
      }
    } else this.log.warn({ tool: name }, "unknown or malformed tool call ignored");
  }

  /** Run `fn` once the turn's last utterance has been played (or at once if nothing is playing). */
  private afterLast(turn: Turn, fn: () => void): void {
    this.after.cancel();
    const last = turn.said.at(-1);
    if (!last || !this.ledger.isSpeaking(last.id)) return fn();
    this.after.set(last.id, fn, this.d.config.ACTION_MARK_TIMEOUT_MS);
  }

  private cancelAfter(): void {
    if (!this.after.waiting) return;
    this.after.cancel();
    this.ending = this.pending?.kind === "voicemail";
  }

  // ── silence ─────────────────────────────────────────────────────────────

  private callerActive(): void {
    this.silence.reset();
  }

  /** Start the silence clock when nobody speaks and no answer is being prepared. */
  private armSilence(): void {
    this.silence.pause();
    if (this.stopped || this.ending || !this.streamLive || this.call?.mode !== "conversation") return;
    if (this.ledger.busy || (this.turn && !this.turn.finished)) return;
    this.silence.arm();
  }

  /** First silence: re-prompt. Second: goodbye, then hang up once it was heard. */
  private onSilence(count: number): void {
    if (this.stopped || this.ending || !agentReplies(this.call)) return;
    this.log.info({ silences: count }, "caller silent");
    if (count === 1) {
      this.say(`p-${randomUUID().slice(0, 8)}`, this.d.script.reprompt, "prompt");
      return;
    }
    this.ending = true;
    const u = this.say(`bye-${randomUUID().slice(0, 8)}`, this.d.script.goodbye, "prompt");
    this.after.set(u.id, () => this.hangup("caller-silent"), this.d.config.ACTION_MARK_TIMEOUT_MS);
  }

  // ── helpers ─────────────────────────────────────────────────────────────

  private say(id: string, text: string, purpose: Purpose): Utterance {
    const u: Utterance = { id, text, purpose };
    this.speak(u, this.generation, true);
    return u;
  }

  private speak(u: Utterance, generation: number, endOfTurn: boolean): void {
    this.silence.pause();
    this.ledger.said(u);
    this.out.say(u.id, u.text, u.purpose, generation, endOfTurn);
    this.retries.sent(u, generation, endOfTurn);
  }

  /** No audio came for `u` (its say was lost, e.g. tts restarting): say it again unless it is moot. */
  private resend(u: Utterance, generation: number, endOfTurn: boolean): boolean {
    if (this.stopped || !this.streamLive || !this.ledger.isSpeaking(u.id)) return false;
    this.log.info({ utteranceId: u.id }, "no audio for say, sent again");
    this.out.say(u.id, u.text, u.purpose, generation, endOfTurn);
    return true;
  }

  /**
   * A new stream (the media worker died): the current turn's sentences that were not fully heard and
   * not cut by the caller are said again, under new ids (tts drops a repeated id).
   */
  private resayUnheard(): void {
    const turn = this.turn;
    if (!turn || turn.superseded || this.ending) return;
    const cutAt = turn.said.findIndex((u) => u.cut !== undefined);
    // Sentences from the first one the caller cut on were dropped on purpose.
    turn.said.slice(0, cutAt < 0 ? undefined : cutAt).forEach((u, i) => {
      if (u.played) return;
      const again: Utterance = { ...u, id: `${u.id}.${randomUUID().slice(0, 4)}` };
      turn.said[i] = again;
      this.log.info({ utteranceId: again.id, was: u.id }, "unheard reply said again on the new stream");
      this.speak(again, turn.generation, turn.finished && i === turn.said.length - 1);
    });
  }

  /** Record that the caller final `finalTs` was handled, so a later owner does not answer it again. */
  private async handled(finalTs: number | undefined): Promise<void> {
    if (finalTs !== undefined) await this.d.store.update(this.d.callId, { handledFinalTs: finalTs });
  }

  private async nextGeneration(): Promise<number> {
    this.generation = await this.d.store.nextGeneration(this.d.callId);
    return this.generation;
  }

  private hangup(reason: string): void {
    this.ending = true;
    this.silence.pause();
    this.log.info({ reason }, "hanging up");
    this.out.hangup(reason);
  }

  private async transcript(role: "caller" | "agent" | "system", text: string, utteranceId?: string, interrupted?: boolean): Promise<void> {
    await this.d.store.appendTranscript(this.d.callId, { role, text, ts: Date.now(), utteranceId, interrupted });
  }
}
