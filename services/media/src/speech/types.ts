/**
 * The speech-in boundary of the media service. The stream session pushes every inbound 20 ms
 * mu-law frame; the pipeline (VAD → endpointing → STT) yields events. Providers live beside this file.
 */

/** Per-frame voice activity. `open()` gives per-stream state; one model may be shared per worker. */
export interface VoiceActivityDetector {
  readonly label: string;
  open(): VadStream;
}
export interface VadStream {
  /** One 20 ms frame of 8 kHz 16-bit PCM (160 samples). Returns true when the frame is speech. */
  isSpeech(pcm8k: Int16Array): boolean;
  close(): void;
}

export interface SttCapabilities {
  /** Emits partial transcripts while the caller speaks. */
  partials: boolean;
  /** Does its own endpointing (vendor side) rather than relying on our VAD cut. */
  streaming: boolean;
}

/** Speech to text for one stream: push frames (or whole utterances), read results. */
export interface SpeechToText {
  readonly label: string;
  readonly capabilities: SttCapabilities;
  open(o: SttOpenOptions): SttStream;
}
export interface SttOpenOptions {
  callId: string;
  signal: AbortSignal;
  /** JSGF grammar text constraining recognition for this stream; engines without grammars ignore it. */
  grammar?: string;
}
export interface SttStream {
  /** Utterance-level engines get the VAD-cut utterance; streaming engines get every frame via `pushFrame`. */
  pushFrame(mu: Uint8Array): void;
  /** Our VAD says the caller stopped: finalise what was heard since the last end. */
  /**
   * `verify`: heard over agent speech: also rate the result (pocketsphinx: a second, murmur-only decode
   * for its `confidence`), which idle turns do not pay for. Engines that rate everything ignore it.
   * A streaming engine without `peek` gets an empty `pcm8k`: it had every frame through `pushFrame`.
   */
  /**
   * `heard`: a peek of this same audio (no voice after it): engines that decode whole utterances take its
   * answer as the final instead of decoding again (and decode if it fails); others ignore it.
   */
  endUtterance(pcm8k: Int16Array, o?: { verify?: boolean; heard?: Promise<Heard> }): void;
  readonly results: AsyncIterable<SttResult>;
  close(): void;
  /** Switch (or, with undefined, drop) the JSGF grammar for the next utterances. Absent when unsupported. */
  setGrammar?(jsgf: string | undefined): void;
  /** Decode `pcm8k` now, apart from the results (a provisional look at speech still going on). Absent when unsupported. */
  peek?(pcm8k: Int16Array): Promise<Heard>;
}
/** A provisional decode: its text and, when the engine has one, its confidence (0..1; see `SttResult`). */
export interface Heard {
  text: string;
  confidence?: number;
  /** Decoder time (ms) and, before it, time the request waited for the decoder (wall ms), when the engine reports them. */
  decodeMs?: number;
  queuedMs?: number;
  /** Of `queuedMs`, from asking to the decode's start: delivery, a decode running then, the thread's queue (the rest: the answer's way back). */
  behindMs?: number;
  /** Decodes the thread started in that time (ahead of this one in its queue). */
  behindJobs?: number;
  /** Open vocabulary over agent speech: the fixed grammar's hearing of the same audio (second-opinion.ts). */
  fixed?: FixedHeard;
}

/** The second opinion: the small fixed grammar's text for an utterance (and its fit over the murmur sink, when rated). */
export interface FixedHeard {
  text: string;
  confidence?: number;
}

/**
 * `confidence` (0..1): the engine's own (Deepgram), or pocketsphinx's margin over a murmur-only grammar
 * (`sinkMargin` in pocketsphinx-worker.ts; absent in open vocabulary and for murmurs themselves).
 * `decodeMs`/`audioMs`: engine time and audio length of the utterance, when the engine reports them.
 * A final with empty text is the engine's "no words" for an utterance (the pipeline turns it into `transcript.none`).
 */
export type SttResult = {
  final: boolean;
  text: string;
  confidence?: number;
  decodeMs?: number;
  audioMs?: number;
  /** Open vocabulary heard over agent speech: the fixed grammar's second opinion on the same audio. */
  fixed?: FixedHeard;
};

/** What the speech pipeline tells the stream session. Times are ms of stream audio. */
export type SpeechEvent =
  | { type: "speech.started"; atMs: number }
  | { type: "speech.stopped"; atMs: number; durationMs: number }
  | { type: "transcript.partial"; text: string }
  /** `level`: RMS (0..1) of the utterance's voiced frames, when the pipeline measured it. */
  /** `fixed`: open vocabulary over agent speech, the fixed grammar's second opinion (the turn decision uses it; `text` is the history's). */
  | {
      type: "transcript.final";
      text: string;
      confidence?: number;
      speechMs: number;
      decodeMs?: number;
      level?: number;
      fixed?: FixedHeard;
      /**
       * Utterance-level engines: the utterance was heard over agent speech (at some time during it), whenever its
       * final comes. A decode queued for seconds may answer after the agent's audio ended; it was still said over it.
       */
      overAgent?: boolean;
    }
  /** The recogniser answered an utterance with no words (a noise): no turn, but a paused reply may resume. */
  | { type: "transcript.none"; speechMs: number };

export interface SpeechPipeline {
  /** Every inbound 20 ms mu-law frame, in order. Must be cheap: it runs 50×/s per call. */
  push(mu: Uint8Array): void;
  readonly events: AsyncIterable<SpeechEvent>;
  close(): void;
  /** Switch the STT grammar (JSGF text; undefined = open vocabulary) for the next utterances. */
  setGrammar?(jsgf: string | undefined): void;
  /** Stream time (ms, end of frame) of the last frame counted as speech; read right after `push`. */
  readonly lastVoicedMs?: number;
  /** Stream time of the last such frame above −40 dBFS (the VAD's hangover left out): where the caller went quiet. */
  readonly lastLoudMs?: number;
  /** Frames quieter than this RMS (0..1) are not speech whatever the VAD says (echo guard, background speech). */
  setLevelFloor?(rms: number): void;
  /**
   * Decode the running utterance so far (undefined when idle or unsupported). `quietMs`: decode it as if the
   * caller had been quiet this long by now (its trailing quiet padded out with more of the same), so an early
   * check asked before the quiet gap is up decodes the audio the gap would have.
   */
  peek?(o?: { quietMs?: number }): Promise<Heard | undefined>;
  /**
   * End the running utterance now, as if the endpointer had: its final (or `transcript.none`) follows as
   * usual. The early check for engines that cannot `peek` (streaming ones: Deepgram answers `Finalize`).
   */
  endNow?(): void;
  /** Agent audio plays or a barge-in pause holds it: utterances heard meanwhile are rated (`verify`). */
  setOverAgent?(over: boolean): void;
}

export interface SpeechPipelineFactory {
  open(o: { callId: string; signal: AbortSignal; grammar?: string }): SpeechPipeline;
}
