import type { WebhookOptions, WebhookRecord } from "./webhooks";
import type { NetworkConditions } from "./network";

export type CallStatus = "queued" | "initiated" | "ringing" | "in-progress" | "completed" | "busy" | "failed" | "no-answer" | "canceled";
export const terminalStatuses: readonly CallStatus[] = ["completed", "busy", "failed", "no-answer", "canceled"];

/** AMD results: `Enable` gives human/machine_start/fax/unknown; `DetectMessageEnd` the machine_end_* ones. */
export type AnsweredBy = "human" | "machine_start" | "machine_end_beep" | "machine_end_silence" | "machine_end_other" | "fax" | "unknown";

/** What the far end does when the simulator dials it (outbound calls). */
export interface DialOutcome {
  /** Default `answer`. */
  result?: "answer" | "busy" | "no-answer" | "failed";
  /** Ringing time before the answer/busy/failure. Default 100 ms (no-answer: min(Timeout s, 1 s)). */
  ringMs?: number;
  /** AMD result when MachineDetection was requested. Default `human`. */
  answeredBy?: AnsweredBy;
  /** AMD detection time. Default 300 ms. */
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
  /** Webhook timeout (Twilio: 15 s, error 11205). */
  webhookTimeoutMs: number;
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
  sayMsPerChar: 0,
  strictStreamMessages: true,
};

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
}
