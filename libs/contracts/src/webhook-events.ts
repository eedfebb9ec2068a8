import { z } from "zod";
import { AnsweredBy, CallMode, CallState, Direction } from "./common";

const num = z.coerce.number();

/** What the user's server hears about a call (EVENT_WEBHOOK_URL, or `eventWebhookUrl` per call). */
export const WebhookEventType = z.enum([
  "call.created",
  "call.answered",
  "transcript",
  "tool.called",
  "dtmf",
  "call.ended",
]);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/**
 * One entry of the `vc:call:<callId>:events` Redis stream (the call's outbox), written in the same
 * MULTI or Lua script as the change it reports. `data` is JSON. TTL: CALL_RETENTION_MS, renewed on
 * every append.
 */
export const OutboxEntry = z.object({
  type: WebhookEventType,
  ts: num,
  data: z.string(),
});
export type OutboxEntry = z.infer<typeof OutboxEntry>;

/**
 * `vc:call:<callId>:delivery` hash: how far the receiver has acknowledged the call's outbox, and the
 * failing head event's attempts. TTL: CALL_RETENTION_MS, renewed on every write.
 */
export const DeliveryState = z.object({
  /** Stream id of the last event the receiver accepted (or that was dead-lettered); `0-0` = none. */
  cursor: z.string().default("0-0"),
  attempts: num.default(0),
  firstFailureAt: num.optional(),
  lastError: z.string().optional(),
});
export type DeliveryState = z.infer<typeof DeliveryState>;

/**
 * One entry of `vc:events:dead` (a Redis stream capped at ~10 000 entries, so no TTL): an event the
 * receiver refused (4xx other than 408/429) or did not take within EVENT_RETRY_BUDGET_MS.
 */
export const DeadLetter = z.object({
  callId: z.string(),
  eventId: z.string(),
  type: WebhookEventType,
  url: z.string(),
  /** The exact JSON body that was sent; a resend sends it again (signed anew). */
  body: z.string(),
  attempts: num,
  error: z.string(),
  ts: num,
});
export type DeadLetter = z.infer<typeof DeadLetter>;

export const TranscriptLine = z.object({
  role: z.enum(["caller", "agent", "system"]),
  text: z.string(),
  ts: z.number(),
  utteranceId: z.string().optional(),
  /** Agent line cut short by the caller (barge-in): the caller heard only `text`. */
  interrupted: z.boolean().optional(),
});

const Percentiles = z.object({ p50: z.number(), p90: z.number(), p95: z.number(), max: z.number() });

/** The `data` of `call.ended`: the end-of-call report. Durations in ms. */
export const EndOfCallReport = z.object({
  state: CallState,
  endReason: z.string().optional(),
  direction: Direction,
  mode: CallMode,
  from: z.string(),
  to: z.string(),
  createdAt: z.number(),
  answeredAt: z.number().optional(),
  endedAt: z.number().optional(),
  /** createdAt → endedAt. */
  durationMs: z.number(),
  /** answeredAt → endedAt; 0 when never answered. */
  talkMs: z.number(),
  /** Twilio's AMD result, when machine detection was asked for. */
  answeredBy: AnsweredBy.optional(),
  transcript: z.array(TranscriptLine),
  /** Caller's end of speech → first reply audio sent, per reply turn; null when there was none. */
  turnLatencyMs: Percentiles.extend({ count: z.number().int() }).nullable(),
  /** Greeting latency (stream start → first greeting audio sent), when measured. */
  greetingLatencyMs: z.number().optional(),
  /** Agent lines the caller cut short by speaking over them. */
  bargeIns: z.number().int(),
  /** Barge-ins that were noise (a cough, "uh-huh") and after which the agent resumed. */
  falseInterruptions: z.number().int(),
});
export type EndOfCallReport = z.infer<typeof EndOfCallReport>;

/** `data` per event type, as the receiver gets it. */
export const WebhookEventData = {
  "call.created": z.object({
    direction: Direction,
    mode: CallMode,
    from: z.string(),
    to: z.string(),
    state: CallState,
  }),
  "call.answered": z.object({ state: CallState, prev: CallState.optional() }),
  transcript: TranscriptLine,
  "tool.called": z.object({ name: z.string(), args: z.record(z.unknown()) }),
  dtmf: z.object({ digit: z.string() }),
  "call.ended": EndOfCallReport,
} satisfies Record<WebhookEventType, z.ZodTypeAny>;

/**
 * The JSON body POSTed to the receiver. `id` is stable across retries and restarts (receivers drop
 * duplicates by it: delivery is at least once); events of one call arrive in order.
 */
export const WebhookEvent = z.object({
  id: z.string(),
  type: WebhookEventType,
  callId: z.string(),
  /** Epoch ms when it happened (not when it was delivered). */
  ts: z.number(),
  data: z.record(z.unknown()),
});
export type WebhookEvent = z.infer<typeof WebhookEvent>;
