import { z } from "zod";
import { AnsweredBy, CallEngine, CallMode, CallState, Direction } from "./common";

const num = z.coerce.number();
const bool = z
  .union([z.boolean(), z.enum(["0", "1", "true", "false"])])
  .transform((v) => v === true || v === "1" || v === "true");

/**
 * `vc:call:<callId>` hash. Redis gives strings back, so numbers and booleans are coerced.
 * Timestamps are epoch ms. Kept for `CALL_RETENTION_MS` after the call ends.
 */
export const CallRecord = z.object({
  callId: z.string(),
  state: CallState,
  direction: Direction,
  mode: CallMode,
  /** `web`: the browser phone speaks Media Streams itself; there is no Twilio call to control. */
  channel: z.enum(["twilio", "web"]).default("twilio"),
  /** `realtime`: media bridges the stream to a realtime voice model and holds the conversation; the agent stands aside. */
  engine: CallEngine.default("pipeline"),
  from: z.string(),
  to: z.string(),
  callSid: z.string().optional(),
  greeting: z.string().optional(),
  /** Set only when the mark ending the greeting (or notify message) came back from Twilio. */
  greetingPlayed: bool.default(false),
  voicemailMessage: z.string().optional(),
  answeredBy: AnsweredBy.optional(),
  machineDetection: z.enum(["Enable", "DetectMessageEnd"]).optional(),
  /** JSON of agent options given at creation (system prompt, voice, etc.). */
  agentOptions: z.string().optional(),
  /** Where this call's events go instead of EVENT_WEBHOOK_URL (set by `POST /api/calls`). */
  eventWebhookUrl: z.string().optional(),
  agentOwner: z.string().optional(),
  mediaOwner: z.string().optional(),
  streamSid: z.string().optional(),
  streamCount: num.default(0),
  /** Twilio's last `StreamError` for this call (Stream statusCallback `stream-error`). */
  lastStreamError: z.string().optional(),
  /** Barge-ins that turned out to be noise (a cough, "uh-huh") and were resumed; counted by media. */
  falseInterruptions: num.optional(),
  /** Last turn generation handed out by `CallStore.nextGeneration` (agent). */
  generation: num.optional(),
  /** The caller's newest final transcript (media writes it as it publishes `transcript.final`, same `ts`). */
  lastFinalTs: num.optional(),
  lastFinalText: z.string().optional(),
  /** `ts` of the newest caller final an agent has handled (answered or ignored); lower than `lastFinalTs`: one went unheard. */
  handledFinalTs: num.optional(),
  createdAt: num,
  updatedAt: num,
  answeredAt: num.optional(),
  endedAt: num.optional(),
  endReason: z.string().optional(),
});
export type CallRecord = z.infer<typeof CallRecord>;

/** One entry of `vc:call:<callId>:timeline` (a Redis list, oldest first). */
export const TimelineEntry = z.object({
  ts: z.number(),
  state: CallState,
  prev: CallState.optional(),
  source: z.string(),
  reason: z.string().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/** One entry of the `vc:call:<callId>:transcript` Redis stream. */
export const TranscriptEntry = z.object({
  role: z.enum(["caller", "agent", "system"]),
  text: z.string(),
  ts: num,
  utteranceId: z.string().optional(),
  /** For agent lines cut short by barge-in: the caller heard only `text`. */
  interrupted: bool.optional(),
});
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

/** `vc:hb:<service>:<instance>`: liveness, TTL a few seconds, renewed. */
export const Heartbeat = z.object({
  service: z.enum(["gateway", "media", "tts", "agent"]),
  instance: z.string(),
  ts: num,
  load: num.default(0),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/**
 * `vc:call:<id>:greeting`: tts rendered the call's greeting while the phone rang (its audio, raw 8 kHz
 * mu-law, is beside it under `…:greeting:audio`), so media can play it on `start` without the agent.
 * `text` is what was rendered: media plays it only when it is still the call's greeting.
 */
export const PrerenderedGreeting = z.object({ text: z.string(), bytes: num, ts: num });
export type PrerenderedGreeting = z.infer<typeof PrerenderedGreeting>;

/** The cached first webhook answer per CallSid: a retried webhook gets the same TwiML. */
export const WebhookAnswer = z.object({ twiml: z.string(), ts: num });
export type WebhookAnswer = z.infer<typeof WebhookAnswer>;

/**
 * One measured turn, in the `vc:metrics:turns` Redis stream (capped): for `reply`, caller's end of
 * speech → first reply audio sent to Twilio; for `greeting`, stream start → first greeting audio sent.
 */
export const TurnMetric = z.object({
  callId: z.string(),
  kind: z.enum(["greeting", "reply"]),
  latencyMs: num,
  ts: num,
});
export type TurnMetric = z.infer<typeof TurnMetric>;
