/**
 * The realtime (speech-to-speech) provider seam: a model is a factory, `connect` opens one session per
 * stream. Audio is 8 kHz G.711 μ-law both ways, raw bytes (no resampling anywhere). A provider only
 * translates its wire protocol to these events and back; the call logic lives in `bridge.ts`.
 */

export interface RealtimeTool {
  name: string;
  description: string;
  /** JSON schema of the arguments. */
  parameters: Record<string, unknown>;
}

/** A line of the conversation so far (a new stream after failover carries these into the new session). */
export interface HistoryItem {
  role: "user" | "assistant";
  text: string;
}

export interface SessionOptions {
  instructions: string;
  tools: RealtimeTool[];
  history: HistoryItem[];
  /** `false`: the model never answers on its own (notify mode: one message, then hang-up). */
  respondToSpeech: boolean;
  /** `false`: caller speech does not cut the model's response (barge-in off, or a must-hear message). */
  interruptOnSpeech: boolean;
  signal: AbortSignal;
}

export type RealtimeEvent =
  /** The model's VAD heard the caller start; `audioStartMs` on the model's input clock. */
  | { type: "speech.started"; itemId?: string; audioStartMs?: number }
  | { type: "speech.stopped"; itemId?: string; audioEndMs?: number }
  /** `tag`: what `respond(…, tag)` asked for, echoed back (absent for responses the model started itself). */
  | { type: "response.started"; responseId: string; tag?: string }
  /** Model audio: μ-law bytes of one output item. */
  | { type: "audio"; responseId: string; itemId: string; audio: Uint8Array }
  | { type: "audio.done"; responseId: string; itemId: string }
  /** The model's own words for an item (its audio transcript). */
  | { type: "transcript.agent"; itemId: string; text: string }
  /** The caller's words (the model's input transcription). */
  | { type: "transcript.caller"; itemId: string; text: string }
  | { type: "tool.call"; responseId: string; callId: string; name: string; args: Record<string, unknown> }
  | { type: "response.done"; responseId: string; status: string; code?: string }
  | { type: "rate-limits"; limits: { name: string; remaining: number; resetSeconds: number }[] }
  /** A vendor error event; `fatal` ones end the session (the bridge reconnects once). */
  | { type: "error"; code: string; message: string; fatal: boolean }
  /** The socket is gone (vendor closed, network); not sent after `close()`. */
  | { type: "closed"; code: number; reason: string };

export interface RealtimeSession {
  /** Everything the model says and hears, in order; ends after `closed` or `close()`. */
  readonly events: AsyncIterable<RealtimeEvent>;
  /** Caller audio, μ-law 8 kHz, any length. */
  appendAudio(mu: Uint8Array): void;
  /** Ask for a response; `instructions` override the session's for this one (greeting, re-prompt); `tag` comes back on its `response.started`. */
  respond(instructions?: string, tag?: string): void;
  /** Stop the response in progress, if any. */
  cancelResponse(): void;
  /** A text line in the conversation (DTMF as "The caller pressed key 5."). */
  addText(role: "user" | "assistant", text: string): void;
  /** The result of a tool call, so the model knows what happened. */
  toolOutput(callId: string, output: string): void;
  /** Forget the part of an output item the caller never heard (`audioEndMs` = what was played). */
  truncate(itemId: string, audioEndMs: number): void;
  close(): void;
}

export interface RealtimeModel {
  /** For logs and metrics: protocol/model, never the key. */
  readonly label: string;
  /** Open a session; rejects (typed, with the vendor's code) if the model cannot be reached. */
  connect(o: SessionOptions): Promise<RealtimeSession>;
}

/** The model could not be reached or refused us. `code` is the vendor's (or the HTTP status); never a key. */
export class RealtimeError extends Error {
  override name = "RealtimeError";
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
