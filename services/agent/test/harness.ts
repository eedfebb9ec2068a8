import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { CallEvent, CommandMessage, ControlMessage, SayMessage, subjects, type CallRecord } from "@voicecall/contracts";
import { loadScript, type DialogueScript } from "@voicecall/dialogue";
import { testLogger } from "@voicecall/testkit";
import { Conversation, type ConversationDeps } from "../src/conversation";
import { BuiltinModel } from "../src/llm/builtin";
import type { LanguageModel } from "../src/llm/types";
import { Outbox } from "../src/outbox";
import type { Publisher } from "../src/ports";
import { MemoryCallStore } from "./memory-store";

/**
 * The conversation with no NATS and no Redis, in the style of pipecat's `run_test`: these events in,
 * these messages out. Events go in through the conversation's event port, in order; what it publishes
 * is checked against the contracts' schemas (as the bus would) and kept per kind; its store writes land
 * in a MemoryCallStore.
 */
export const script: DialogueScript = loadScript();

export type Say = Extract<SayMessage, { type: "say" }>;
/** A call event as a test writes it: callId and ts are filled in. */
export type EvtIn = CallEvent extends infer E
  ? E extends { type: string }
    ? Omit<E, "callId" | "ts" | "v"> & { ts?: number }
    : never
  : never;

export const testConfig: ConversationDeps["config"] = {
  SILENCE_REPROMPT_MS: 60_000,
  VOICEMAIL_MESSAGE: undefined,
  ACTION_MARK_TIMEOUT_MS: 30_000,
  // Tests play tts and mostly send no tts.first-chunk: no re-sends unless a test asks for them.
  SAY_RETRY_MS: 60_000,
};

export interface HarnessOptions {
  call?: Partial<CallRecord> & Pick<CallRecord, "mode">;
  model?: LanguageModel;
  config?: Partial<ConversationDeps["config"]>;
  /** A store shared with an earlier harness (a takeover), else a new one. */
  store?: MemoryCallStore;
  /** Media holds the stream lease when the conversation starts (a takeover of a live call). */
  streamLive?: boolean;
}

export type Harness = Awaited<ReturnType<typeof conversationHarness>>;

/** A started conversation on a call of its own; `send` events, then read `says`, `ctls`, `cmds`, `store`. */
export async function conversationHarness(o: HarnessOptions = {}) {
  const store = o.store ?? new MemoryCallStore();
  const callId = o.call?.callId ?? `c${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  if (!store.calls.has(callId)) store.addCall({ callId, ...(o.call ?? { mode: "conversation" }) });
  if (o.streamLive) store.setLease("stream", callId, "media-test");
  const says: SayMessage[] = [];
  const ctls: ControlMessage[] = [];
  const cmds: CommandMessage[] = [];
  const evts: CallEvent[] = [];
  const sinks: Record<string, { schema: z.ZodTypeAny; list: unknown[] }> = {
    [subjects.say(callId)]: { schema: SayMessage, list: says },
    [subjects.ctl(callId)]: { schema: ControlMessage, list: ctls },
    [subjects.cmd(callId)]: { schema: CommandMessage, list: cmds },
    [subjects.evt(callId)]: { schema: CallEvent, list: evts },
  };
  const publisher: Publisher = {
    publish(subject, schema, msg) {
      const sink = sinks[subject];
      if (!sink) throw new Error(`published on an unexpected subject ${subject}`);
      sink.list.push(schema.parse(msg));
    },
  };
  let deliver: ((e: CallEvent) => Promise<void>) | undefined;
  let ended = false;
  const { log, lines } = testLogger("agent", process.env.TEST_LOG_LEVEL ?? "warn");
  const conv = new Conversation({
    callId,
    events: async (onEvent) => {
      deliver = onEvent;
      return () => (deliver = undefined);
    },
    out: new Outbox(publisher, callId),
    store,
    model: o.model ?? new BuiltinModel(script),
    script,
    log,
    config: { ...testConfig, ...o.config },
    onEnd: () => (ended = true),
  });
  await conv.start();
  await conv.settled();

  // Media stamps each event; two finals in one millisecond would read as one line heard twice.
  let lastTs = 0;
  const stamp = (e: EvtIn): CallEvent =>
    CallEvent.parse({ ...e, ts: e.ts ?? (lastTs = Math.max(Date.now(), lastTs + 1)), callId });
  const spoken = () => says.filter((s): s is Say => s.type === "say");
  const h = {
    callId,
    conv,
    store,
    says,
    ctls,
    cmds,
    evts,
    log: lines,
    spoken,
    replies: () => spoken().filter((s) => s.purpose === "reply"),
    /** The first say of `purpose` (or with that text). */
    said: (which: string) => spoken().find((s) => s.purpose === which || s.text === which),
    transcript: () => store.transcript(callId),
    record: () => store.calls.get(callId)!,
    get ended() {
      return ended;
    },
    /** Hand events to the conversation, in order, each handled before the next; `settle` (default) also waits for the turn they started. */
    async send(...events: (EvtIn | EvtIn[])[]): Promise<void> {
      for (const e of events.flat()) {
        if (!deliver) throw new Error("the conversation does not follow the call any more");
        await deliver(stamp(e));
      }
      await conv.settled();
    },
    /** Hand events over without waiting for the turns they start (a model that takes its time). */
    async push(...events: EvtIn[]): Promise<void> {
      for (const e of events) await deliver?.(stamp(e));
    },
    /** Media's part for a caller final: recorded on the call (same ts), then published. */
    async final(text: string, o: { publish?: boolean; backchannel?: boolean } = {}): Promise<void> {
      const ts = (lastTs = Math.max(Date.now(), lastTs + 1));
      await store.update(callId, { lastFinalTs: ts, lastFinalText: text });
      if (o.publish !== false)
        await h.send({
          type: "transcript.final",
          streamSid: "MZ",
          text,
          ts,
          ...(o.backchannel ? { backchannel: true } : {}),
        });
    },
    stop: () => conv.stop(),
  };
  return h;
}

/** Event builders, for `send`. */
export const ev = {
  streamStarted: (streamSid = `MZ${randomUUID().slice(0, 8)}`): EvtIn => ({
    type: "stream.started",
    streamSid,
    callSid: "CA1",
    worker: "media-test",
  }),
  streamStopped: (): EvtIn => ({ type: "stream.stopped", streamSid: "MZ", reason: "closed", worker: "media-test" }),
  final: (text: string, extra: { backchannel?: boolean } = {}): EvtIn => ({
    type: "transcript.final",
    streamSid: "MZ",
    text,
    ...extra,
  }),
  speechStarted: (): EvtIn => ({ type: "speech.started", streamSid: "MZ", agentSpeaking: false }),
  speechStopped: (): EvtIn => ({ type: "speech.stopped", streamSid: "MZ", durationMs: 500 }),
  dtmf: (digit: string): EvtIn => ({ type: "dtmf", streamSid: "MZ", digit }),
  mark: (utteranceId: string, done = true): EvtIn => ({
    type: "playback.mark",
    streamSid: "MZ",
    utteranceId,
    done,
    playedMs: 1000,
  }),
  interrupted: (utteranceId: string, playedMs: number, totalMs: number): EvtIn => ({
    type: "interrupted",
    streamSid: "MZ",
    utteranceId,
    playedMs,
    totalMs,
  }),
  resumed: (utteranceId: string, fromMs: number): EvtIn => ({ type: "resumed", streamSid: "MZ", utteranceId, fromMs }),
  firstChunk: (utteranceId: string): EvtIn => ({
    type: "tts.first-chunk",
    utteranceId,
    provider: "test",
    latencyMs: 1,
    cached: false,
  }),
  amd: (answeredBy: "machine_end_beep" | "human"): EvtIn => ({ type: "amd.result", answeredBy }),
  operator: (text: string): EvtIn => ({ type: "operator.say", text }),
  ended: (): EvtIn => ({ type: "call.state", state: "completed", prev: "in-progress" }),
};

/**
 * `run_test` in one call: a conversation on a call like `o.call`, these events in (after a first
 * `stream.started`), and everything it sent out.
 */
export async function runConversation(events: (EvtIn | ((h: Harness) => EvtIn | EvtIn[]))[], o: HarnessOptions = {}) {
  const h = await conversationHarness(o);
  await h.send(ev.streamStarted());
  for (const e of events) await h.send(typeof e === "function" ? e(h) : e);
  h.stop();
  return {
    says: h.spoken(),
    ctls: h.ctls,
    cmds: h.cmds,
    transcript: await h.transcript(),
    record: h.record(),
    messages: h.conv.messages,
    harness: h,
  };
}
