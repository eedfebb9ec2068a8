import type { WebhookOptions, WebhookRecord } from "./webhooks";
import type { NetworkConditions } from "./network";

export type CallStatus =
  "queued" | "initiated" | "ringing" | "in-progress" | "completed" | "busy" | "failed" | "no-answer" | "canceled";
export const terminalStatuses: readonly CallStatus[] = ["completed", "busy", "failed", "no-answer", "canceled"];

/** AMD results: `Enable` gives human/machine_start/fax/unknown; `DetectMessageEnd` the machine_end_* ones. */
export type AnsweredBy =
  "human" | "machine_start" | "machine_end_beep" | "machine_end_silence" | "machine_end_other" | "fax" | "unknown";

/** What the far end does when the simulator dials it (outbound calls). */
export interface DialOutcome {
  /** Default `answer`. */
  result?: "answer" | "busy" | "no-answer" | "failed";
  /** Ringing time before the answer/busy/failure. Default 100 ms (no-answer: min(Timeout s, 1 s)). */
  ringMs?: number;
  /** AMD result when MachineDetection was requested. Default `human`. */
  answeredBy?: AnsweredBy;
  /** AMD detection time, from the answer. Default `defaultAmdMs(answeredBy)` (seconds, as Twilio's thresholds imply). */
  amdMs?: number;
  /** The network between the app and this call's Media Streams (delay, jitter each way). Default none. */
  network?: NetworkConditions;
}

/**
 * Knobs for behaviour Twilio does not document ([OBS]/[INFER] in the wire reference). Defaults are
 * the simulator's best reading of real traffic.
 */
export interface SimKnobs {
  /** WebSocket close code after `stop`. Default 1000. */
  wsCloseCode: number;
  /** On a REST redirect (Url/Twiml update) send `stop` before closing the stream. Default true. */
  stopOnRedirect: boolean;
  /** CallStatus on the Url request of an outbound-api call. Default `in-progress`. */
  outboundUrlCallStatus: CallStatus;
  /** `media.timestamp` of the first inbound frame. Default 0 (a capture showed 52). */
  firstMediaTimestampMs: number;
  /** `strip` (default) drops a query string from `<Stream url>` before connecting; `keep` leaves it. */
  streamQueryString: "strip" | "keep";
  /** Sign the wss handshake over `url + "/"`. Default false. */
  wsSignTrailingSlash: boolean;
  /** Drop an explicit port from https voice URLs when signing. Default true (documented). */
  dropHttpsPortWhenSigning: boolean;
  /** Webhook timeout per attempt (Twilio: 15 s read timeout, error 11205). */
  webhookTimeoutMs: number;
  /**
   * Retries of a webhook that got no answer (timed out, refused, reset), with the same
   * `I-Twilio-Idempotency-Token`. Default 1: Twilio's connection overrides document a retry count of 1
   * (`rc`) for failures and timeouts [DOC usage/webhooks/webhooks-connection-overrides]. Its default
   * policy retries connect failures only; the simulator also retries a read timeout, the less forgiving
   * choice (the app then sees the same request twice, and the first answer is thrown away).
   */
  webhookRetries: number;
  /**
   * `unordered` (default): each status callback is its own request, sent after a random delay of up to
   * `statusCallbackJitterMs`, and some are delivered twice (same token, same signature). Twilio: "no
   * guarantee they will arrive in the same order" [DOC call-resource §StatusCallbackEvent], and retries
   * redeliver. `orderly`: one at a time, in order, once (for tests that look at something else).
   */
  statusCallbacks: "unordered" | "orderly";
  /** Upper bound of the random delay of each status callback (`unordered`). Default 300 ms. */
  statusCallbackJitterMs: number;
  /** Share of status callbacks delivered twice (`unordered`). Default 0.25. */
  statusCallbackDuplicateRate: number;
  /** Seed of the simulator's random choices (jitter, duplicates). Default: drawn at start. */
  seed: number;
  /**
   * What a REST hang-up (`Status=completed|canceled`) answers. `before-hangup` (default): 200 with the
   * call as it was when the request came (e.g. still `in-progress`); the hang-up follows. Twilio says it
   * "will attempt to hang up" [DOC call-resource §Update] and documents no answer that waits for the end,
   * so the app must not take the answer for the end: the less forgiving choice. `after-hangup`: the
   * call already ended in the answer. A call no longer live answers 400, code 21220 [DOC errors/21220].
   */
  restHangupAnswer: "before-hangup" | "after-hangup";
  /** How long a `<Say>` takes per character of text. Default 0 (instant; the text is recorded). */
  sayMsPerChar: number;
  /** Reject app messages with extra fields (31951). Default true. */
  strictStreamMessages: boolean;
}

export const defaultKnobs: SimKnobs = {
  wsCloseCode: 1000,
  stopOnRedirect: true,
  outboundUrlCallStatus: "in-progress",
  firstMediaTimestampMs: 0,
  streamQueryString: "strip",
  wsSignTrailingSlash: false,
  dropHttpsPortWhenSigning: true,
  webhookTimeoutMs: 15_000,
  webhookRetries: 1,
  statusCallbacks: "unordered",
  statusCallbackJitterMs: 300,
  statusCallbackDuplicateRate: 0.25,
  seed: Math.floor(Math.random() * 2 ** 32),
  restHangupAnswer: "before-hangup",
  sayMsPerChar: 0,
  strictStreamMessages: true,
};

/**
 * How long AMD takes to decide, from the answer, with Twilio's default thresholds
 * [DOC voice/answering-machine-detection; twilio-oai MachineDetection* defaults]: a human says a short
 * "Hello?" and is decided after MachineDetectionSpeechEndThreshold (1200 ms) of silence (≈ 2.5 s); a
 * machine once its speech passes MachineDetectionSpeechThreshold (2400 ms, ≈ 3 s); `DetectMessageEnd`
 * waits for the greeting to end (≈ 10 s); `unknown` is MachineDetectionTimeout (30 s default).
 */
export function defaultAmdMs(answeredBy: AnsweredBy, timeoutSec = 30): number {
  if (answeredBy === "unknown") return timeoutSec * 1000;
  if (answeredBy.startsWith("machine_end")) return 10_000;
  return answeredBy === "human" ? 2_500 : 3_000;
}

/** One thing that happened on a call (status change, verb, stream event, warning). */
export interface CallEventRecord {
  atMs: number;
  type: string;
  [k: string]: unknown;
}

/** Shared by every call of a simulator. */
export interface SimContext {
  accountSid: string;
  authToken: string;
  knobs: SimKnobs;
  webhook: WebhookOptions;
  ca?: string | Buffer;
  route?: (url: URL) => URL;
  /** Every webhook sent, in order. */
  requests: WebhookRecord[];
  onRequest?: (r: WebhookRecord) => void;
  /** The simulator's PRNG in [0, 1), seeded by `knobs.seed`. */
  random: () => number;
}
