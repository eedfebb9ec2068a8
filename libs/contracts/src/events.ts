import { z } from "zod";
import { AnsweredBy, CallMode, CallState, Direction, Purpose, envelope } from "./common";

const e = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), ...envelope, ...shape });

/** Events on `vc.call.<id>.evt`. */
export const CallEvent = z.discriminatedUnion("type", [
  e("call.state", {
    state: CallState,
    prev: CallState.optional(),
    callSid: z.string().optional(),
    reason: z.string().optional(),
  }),
  e("amd.result", { answeredBy: AnsweredBy }),
  /** `greeting`: the utterance id media is already playing the pre-rendered greeting as (the agent does not say it). */
  e("stream.started", {
    streamSid: z.string(),
    callSid: z.string(),
    worker: z.string(),
    greeting: z.string().optional(),
  }),
  e("stream.stopped", {
    streamSid: z.string(),
    reason: z.enum(["stop", "closed", "drain", "error", "replaced"]),
    worker: z.string(),
  }),
  e("speech.started", { streamSid: z.string(), agentSpeaking: z.boolean() }),
  e("speech.stopped", { streamSid: z.string(), durationMs: z.number() }),
  e("transcript.partial", { streamSid: z.string(), text: z.string() }),
  e("transcript.final", {
    streamSid: z.string(),
    text: z.string(),
    confidence: z.number().optional(),
    speechMs: z.number().optional(),
    /** Media heard it over agent speech and it has no words but backchannels ("yeah", "uh-huh"): not a turn. */
    backchannel: z.boolean().optional(),
  }),
  e("playback.mark", {
    streamSid: z.string(),
    utteranceId: z.string(),
    /** True when this mark ends the utterance: all of it was played. */
    done: z.boolean(),
    playedMs: z.number(),
  }),
  e("interrupted", {
    streamSid: z.string(),
    utteranceId: z.string(),
    /** Audio the caller heard before `clear` took effect: the newest echoed mark, played on in real time. */
    playedMs: z.number(),
    totalMs: z.number(),
    /** How far off that estimate has lately been (ms), by the newest marks' corrections. */
    playedErrMs: z.number().optional(),
  }),
  e("resumed", {
    streamSid: z.string(),
    utteranceId: z.string(),
    fromMs: z.number(),
    /** False interruptions of this call so far, this one included. */
    falseInterruptions: z.number().int().optional(),
    /** What resumed it: an early check's decode, the utterance's final (or "no words"), or the false-interruption timer. */
    by: z.enum(["check", "final", "timer"]).optional(),
    /** Stream ms the caller had been quiet (since the last loud frame) when it resumed. */
    quietMs: z.number().optional(),
    /** The early check's decode: wall ms from asking to its answer, of which in the decoder and waiting for it. */
    checkMs: z.number().optional(),
    decodeMs: z.number().optional(),
    queuedMs: z.number().optional(),
    /** Of the waiting, ms from asking to the decode's start (delivery, a decode running, the queue), and decodes started ahead of it. */
    behindMs: z.number().optional(),
    behindJobs: z.number().int().optional(),
  }),
  /** Realtime engine: what the model said, written once heard (or cut: `interrupted`, only the heard share). */
  e("transcript.agent", {
    streamSid: z.string(),
    utteranceId: z.string(),
    text: z.string(),
    interrupted: z.boolean().optional(),
  }),
  /** Realtime engine: the model's vendor failed (code as the vendor gave it; never a key). */
  e("realtime.error", {
    streamSid: z.string(),
    code: z.string(),
    message: z.string(),
    action: z.enum(["reconnect", "apology", "ignored"]),
  }),
  e("dtmf", { streamSid: z.string(), digit: z.string().regex(/^[0-9*#A-D]$/) }),
  e("tts.error", {
    utteranceId: z.string(),
    provider: z.string(),
    message: z.string(),
    fallback: z.string().optional(),
  }),
  e("tts.first-chunk", { utteranceId: z.string(), provider: z.string(), latencyMs: z.number(), cached: z.boolean() }),
  /** Operator asked (HTTP API) for the agent to say something. */
  e("operator.say", { text: z.string().min(1).max(2000) }),
  e("agent.turn", { turnId: z.number(), latencyMs: z.number().optional() }),
]);
export type CallEvent = z.infer<typeof CallEvent>;
export type CallEventType = CallEvent["type"];

/** `vc.calls.lifecycle`: consumers in queue groups claim calls from it. */
export const LifecycleEvent = z.object({
  type: z.enum(["call.created", "call.answered", "call.ended"]),
  ...envelope,
  direction: Direction,
  mode: CallMode,
  state: CallState,
  reason: z.string().optional(),
});
export type LifecycleEvent = z.infer<typeof LifecycleEvent>;

/** `vc.call.<id>.say`: agent → tts. */
export const SayMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("say"),
    ...envelope,
    utteranceId: z.string().min(1),
    text: z.string().min(1).max(5000),
    purpose: Purpose,
    /** Turn generation; media and tts drop audio of a generation older than the newest cancel. */
    generation: z.number().int().nonnegative(),
    /** Last sentence of this turn. */
    endOfTurn: z.boolean().default(true),
  }),
  z.object({
    type: z.literal("say.cancel"),
    ...envelope,
    /** Cancel every utterance whose generation is below this. */
    beforeGeneration: z.number().int().nonnegative(),
  }),
]);
export type SayMessage = z.infer<typeof SayMessage>;

/** `vc.tts.prerender`: render and cache this text now (greeting while the phone rings). */
export const PrerenderRequest = z.object({
  type: z.literal("prerender"),
  ...envelope,
  text: z.string().min(1).max(5000),
});
export type PrerenderRequest = z.infer<typeof PrerenderRequest>;

/** `vc.call.<id>.ctl`: control to the stream owner, never behind audio. */
export const ControlMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("clear"), ...envelope, reason: z.string() }),
  /** Drop queued audio of generations below this (a newer turn started). */
  z.object({ type: z.literal("cancel"), ...envelope, beforeGeneration: z.number().int().nonnegative() }),
  z.object({ type: z.literal("send-digits"), ...envelope, digits: z.string().regex(/^[0-9*#A-Dw]{1,32}$/) }),
  /** Close the stream (call is ending or being redirected). */
  z.object({ type: z.literal("close"), ...envelope, reason: z.string() }),
]);
export type ControlMessage = z.infer<typeof ControlMessage>;

/** `vc.call.<id>.cmd`: agent → gateway, actions that need Twilio REST. */
export const CommandMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hangup"), ...envelope, reason: z.string() }),
  z.object({ type: z.literal("transfer"), ...envelope, to: z.string().min(3) }),
  /**
   * media → gateway: Twilio ended the call's stream (`stop`, or a close with no newer stream). Inbound
   * calls have no status callbacks unless the number has one, so the gateway asks Twilio REST.
   */
  z.object({ type: z.literal("reconcile"), ...envelope, streamSid: z.string().optional(), reason: z.string() }),
]);
export type CommandMessage = z.infer<typeof CommandMessage>;
