import { randomUUID } from "node:crypto";
import { isTerminal, type CallEvent, type CallRecord, type Purpose } from "@voicecall/contracts";
import type { DialogueScript } from "@voicecall/dialogue";
import type { Logger } from "@voicecall/log";
import type { AgentConfig } from "./config";
import { CallWrites } from "./call-writes";
import { Ending } from "./ending";
import { agentReplies, historyFromTranscript, mustHearMessage, systemPrompt, voicemailText } from "./call-text";
import { notATurn, SeenFinals, unansweredLine } from "./caller-lines";
import { dtmfInput, type ChatMessage, type LanguageModel } from "./llm/types";
import { MustHearState } from "./must-hear";
import type { Outbox } from "./outbox";
import type { CallStorePort, EventSource } from "./ports";
import { SilenceWatch } from "./silence";
import { Speaker } from "./speaker";
import { runTool, type ToolContext } from "./tools";
import type { ToolCall, Turn } from "./turn";
import { TurnRunner } from "./turn-runner";

export interface ConversationDeps {
  callId: string;
  /** The call's events in, in order. */
  events: EventSource;
  /** Everything said and done on the call goes out here. */
  out: Outbox;
  store: CallStorePort;
  model: LanguageModel;
  script: DialogueScript;
  log: Logger;
  config: Pick<AgentConfig, "SILENCE_REPROMPT_MS" | "VOICEMAIL_MESSAGE" | "ACTION_MARK_TIMEOUT_MS"> &
    Partial<Pick<AgentConfig, "SAY_RETRY_MS">>;
  /** Called once when the call is over for us (ended, or handed on). */
  onEnd?: () => void;
}

/**
 * One call, owned by this agent instance: the call's events in, says/controls/commands and store writes
 * out, through the ports it is given (no bus or Redis of its own). What to say when is decided here and
 * in the parts it holds: the must-hear message, the turn runner, the tools, the silence watch, and
 * `Ending` (whether the call is ending). Tested through those ports by services/agent/test/harness.ts.
 */
export class Conversation {
  private readonly log: Logger;
  private readonly out: Outbox;
  private readonly writes: CallWrites;
  private readonly voice: Speaker;
  private unsubscribe?: () => void;
  private call!: CallRecord;
  private generation = 0;
  private mustHear = new MustHearState(undefined, false);
  private readonly turns: TurnRunner;
  private readonly end: Ending;
  private readonly silence: SilenceWatch;
  private streamLive = false;
  private stopped = false;
  /** A realtime call: only its end is followed (media's bridge talks). */
  private passive = false;
  private ready: Promise<void> = Promise.resolve();
  /** Streams that started up to this time (epoch ms) were found live at start and handled there. */
  private coveredUntil = 0;
  /** The caller finals this process has seen (live or recovered from the call record). */
  private readonly seen = new SeenFinals();

  constructor(private readonly d: ConversationDeps) {
    this.log = d.log;
    this.out = d.out;
    this.writes = new CallWrites(d.store, d.callId);
    this.voice = new Speaker({
      out: d.out,
      log: d.log,
      mayResend: () => !this.stopped && this.streamLive,
      onSpeak: () => this.silence.pause(),
      retryMs: d.config.SAY_RETRY_MS,
    });
    this.turns = new TurnRunner({
      model: d.model,
      log: d.log,
      systemPrompt: () => systemPrompt(this.call),
      stopped: () => this.stopped,
      speak: (u, gen, end) => this.voice.speak(u, gen, end),
      started: (gen, latencyMs) => this.out.turnStarted(gen, latencyMs),
      finished: (turn, tools) => this.turnFinished(turn, tools),
    });
    this.end = new Ending({
      out: d.out,
      writes: this.writes,
      log: d.log,
      markTimeoutMs: d.config.ACTION_MARK_TIMEOUT_MS,
      isSpeaking: (id) => this.voice.ledger.isSpeaking(id),
      voicemail: () => this.mustHear.voicemail,
      onHangup: () => this.silence.pause(),
    });
    this.silence = new SilenceWatch({
      ms: d.config.SILENCE_REPROMPT_MS,
      log: d.log,
      mayArm: () =>
        !this.stopped &&
        !this.ending &&
        this.streamLive &&
        this.call?.mode === "conversation" &&
        !this.voice.ledger.busy &&
        !this.turns.answering,
      mayAct: () => !this.stopped && !this.ending && agentReplies(this.call),
      reprompt: () => void this.say("p", this.d.script.reprompt, "prompt"),
      goodbye: () =>
        this.end.afterHeard(this.say("bye", this.d.script.goodbye, "prompt").id, () =>
          this.end.hangup("caller-silent"),
        ),
    });
  }

  /** Decided by `Ending` alone. */
  private get ending(): boolean {
    return this.end.ending;
  }

  /** The history as the model sees it (without the system prompt). */
  get messages(): readonly ChatMessage[] {
    return this.turns.messages;
  }

  /** Resolves when the turn started last has finished (tests). */
  settled(): Promise<void> {
    return this.turns.settled();
  }

  /** Load the call, rebuild history from its transcript (takeover), follow its events. */
  async start(): Promise<void> {
    const { store, callId } = this.d;
    let loaded!: () => void;
    this.ready = new Promise<void>((r) => (loaded = r));
    // Subscribe first so nothing is missed; events wait for the call to be loaded.
    this.unsubscribe = await this.d.events((e) => this.handle(e));
    const call = await store.getCall(callId);
    if (!call || isTerminal(call.state)) return this.finish("call not active");
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
    this.turns.history = historyFromTranscript(await store.transcript(callId));
    const message = mustHearMessage(call, this.d.script);
    this.mustHear = new MustHearState(message, call.greetingPlayed);
    if (call.mode === "conversation" && this.turns.history.length === 0 && message)
      this.turns.history.push({ role: "assistant", content: message.text });
    // Taking over a live stream: the greeting may have died with the previous owner. Done before
    // queued events run, so a `stream.started` of that same stream does not say it twice.
    if (await store.leaseOwner("stream", callId)) {
      this.streamLive = true;
      this.coveredUntil = Date.now();
      this.sayMustHear();
    }
    loaded();
    if (this.streamLive) this.silence.arm();
    await this.recover();
  }

  /**
   * Answer the caller's newest line if no agent heard it: its `transcript.final` was published while
   * nobody followed the call (agent restart, takeover, NATS down). Media keeps it on the call record;
   * an agent that handled it (answered or ignored) wrote `handledFinalTs` at least that high.
   */
  async recover(): Promise<void> {
    if (this.stopped || this.passive || this.ending || !this.streamLive) return;
    const call = await this.d.store
      .getCall(this.d.callId)
      .catch((err: Error) => void this.log.warn({ err: err.message }, "call not read for recovery"));
    const line = call && !isTerminal(call.state) ? unansweredLine(call, this.seen.ts) : undefined;
    if (!line) return;
    this.log.info({ ageMs: Date.now() - line.ts }, "unanswered caller line recovered");
    await this.onCallerText(line.text, false, line.ts);
  }

  /** Stop following the call (lease lost, shutdown); does not touch the call itself. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.voice.stop();
    this.unsubscribe?.();
    this.turns.current?.ac.abort();
    this.silence.pause();
    this.end.callOff();
  }

  private finish(reason: string): void {
    if (this.stopped) return;
    this.log.info({ reason }, "conversation ended");
    this.stop();
    this.d.onEnd?.();
  }

  /** One event of the call, in order (the next waits for this one). */
  async handle(e: CallEvent): Promise<void> {
    await this.ready;
    if (this.stopped) return;
    if (this.passive) return void (e.type === "call.state" && isTerminal(e.state) && this.finish(`call ${e.state}`));
    switch (e.type) {
      case "stream.started":
        this.streamLive = true;
        if (e.ts <= this.coveredUntil) return; // the stream found live at start: already handled
        // A new stream: nothing said to an earlier one is playing any more.
        this.voice.streamChanged();
        const due = this.mustHear.due();
        // Media is already playing the greeting tts rendered while the phone rang: it is this say.
        if (due && e.greeting && due.kind === "greeting") this.adoptMustHear(e.greeting, due.text);
        else if (due) this.sayMustHear();
        else {
          if (!this.ending) this.turns.resayUnheard();
          this.silence.arm();
        }
        return this.recover();
      case "stream.stopped":
        this.streamLive = false;
        this.voice.streamChanged();
        this.silence.pause();
        return;
      case "tts.first-chunk":
        return this.voice.arrived(e.utteranceId);
      case "playback.mark":
        this.voice.arrived(e.utteranceId);
        if (e.done) await this.onPlayed(e.utteranceId);
        return;
      case "interrupted":
        this.voice.arrived(e.utteranceId);
        return this.onInterrupted(e.utteranceId, e.playedMs, e.totalMs);
      case "resumed":
        return this.voice.ledger.resumed(e.utteranceId);
      case "speech.started":
        return this.silence.callerActive();
      case "speech.stopped":
        return this.silence.arm();
      case "transcript.final":
        return this.onCallerText(e.text, false, e.ts, e.backchannel === true);
      case "dtmf":
        return this.onCallerText(dtmfInput(e.digit), true);
      case "amd.result":
        if (e.answeredBy.startsWith("machine_end")) await this.leaveVoicemail();
        return;
      case "operator.say":
        this.say("o", e.text, "operator");
        return;
      case "call.state":
        if (isTerminal(e.state)) this.finish(`call ${e.state}`);
        return;
      default:
        return;
    }
  }

  private sayMustHear(): void {
    const m = this.mustHear.due();
    if (m && this.streamLive) this.say(m.kind, m.text, m.kind);
  }

  /** The greeting is playing as `utteranceId` without a say (media's pre-rendered greeting). */
  private adoptMustHear(utteranceId: string, text: string): void {
    this.silence.pause();
    this.voice.ledger.said({ id: utteranceId, text, purpose: "greeting" });
  }

  private async leaveVoicemail(): Promise<void> {
    if (!this.mustHear.leaveVoicemail(voicemailText(this.call, this.d.config.VOICEMAIL_MESSAGE, this.d.script))) return;
    this.turns.drop();
    this.end.callOff();
    this.voice.ledger.clear();
    this.out.cancelBefore(await this.nextGeneration());
    this.log.info("answering machine: leaving voicemail");
    this.sayMustHear();
  }

  private async onPlayed(utteranceId: string): Promise<void> {
    const u = this.voice.ledger.played(utteranceId);
    const heard = this.mustHear.heard(this.voice.ledger.purposeOf(utteranceId));
    if (heard) {
      // Transcript first: whoever sees greetingPlayed also finds the line it was about.
      await this.writes.transcript("agent", heard.text, utteranceId);
      if (heard.kind !== "voicemail") await this.writes.greetingPlayed();
      this.log.info({ kind: heard.kind, utteranceId }, "must-hear message played");
      if (heard.hangup) return this.end.hangup(heard.hangup);
    } else if (u && !this.mustHear.owns(u.purpose)) {
      await this.writes.transcript("agent", u.text, utteranceId);
    }
    this.end.played(utteranceId);
    this.silence.arm();
  }

  private async onInterrupted(utteranceId: string, playedMs: number, totalMs: number): Promise<void> {
    const { cut, final } = this.voice.ledger.interrupted(utteranceId, playedMs, totalMs);
    if (!cut) return;
    this.log.info({ utteranceId, playedMs, totalMs }, "agent interrupted");
    if (final && cut.cut) await this.writes.transcript("agent", cut.cut, cut.id, true);
  }

  /** `finalTs`: the `ts` of a `transcript.final` (the same media wrote to the call record). */
  /** `backchannel`: media heard it over agent speech as an acknowledgement ("yeah"), not a turn. */
  private async onCallerText(text: string, dtmf: boolean, finalTs?: number, backchannel = false): Promise<void> {
    if (finalTs !== undefined && !this.seen.fresh(finalTs, text)) return; // heard already (live and recovered)
    this.silence.callerActive();
    if (!text.trim() || this.ending || this.call?.mode === "notify") return this.writes.handled(finalTs);
    const ledger = this.voice.ledger;
    const not = notATurn(text, { dtmf, backchannel, speaking: ledger.busy ? ledger.speakingText() : undefined });
    if (not) {
      this.log.debug({ pii: { text } }, not === "echo" ? "ignored own echo" : "ignored backchannel");
      return this.writes.handled(finalTs);
    }
    const generation = await this.nextGeneration();
    await this.supersede(this.turns.current);
    this.end.callOff();
    this.out.cancelBefore(generation);
    await this.writes.callerTurn(text, finalTs);
    this.turns.answer(text, generation, agentReplies(this.call));
  }

  /** A newer turn replaces `turn`: stop it; a cut this confirms goes to the transcript. */
  private async supersede(turn: Turn | undefined): Promise<void> {
    turn?.ac.abort();
    const cut = this.voice.ledger.supersede(turn);
    if (cut?.cut) await this.writes.transcript("agent", cut.cut, cut.id, true);
  }

  /** The model answered `turn`: its tool calls run now (end and transfer wait for its last sentence). */
  private turnFinished(turn: Turn, tools: ToolCall[]): void {
    const c: ToolContext = {
      afterLast: (fn) => this.end.afterLast(turn.said, fn),
      hangup: (reason) => this.end.hangup(reason),
      transfer: (to) => this.end.transfer(to),
      sendDigits: (digits) => this.out.sendDigits(digits),
    };
    for (const t of tools) {
      this.log.info({ tool: t.name }, "tool call");
      this.writes.toolCalled(t.name, t.args, (err) => this.log.warn({ err: err.message }, "tool event not recorded"));
      runTool(t.name, t.args, c, this.log);
    }
    this.silence.arm();
  }

  /** Say a line of the agent's own (not a model reply) under a fresh id: `prefix` only makes logs readable. */
  private say(prefix: string, text: string, purpose: Purpose) {
    return this.voice.say(`${prefix}-${randomUUID().slice(0, 8)}`, text, purpose, this.generation);
  }

  private async nextGeneration(): Promise<number> {
    this.generation = await this.writes.nextGeneration();
    return this.generation;
  }
}
