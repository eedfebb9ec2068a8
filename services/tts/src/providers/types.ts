/**
 * The speech-out boundary of the tts service. A provider turns text into 8 kHz mu-law (Twilio's format)
 * as an async iterable of chunks of any size; the first chunk comes as early as the provider allows.
 * Retries, timeouts and fallback live in shared wrappers (`resilient.ts`, `fallback.ts`), never in a provider.
 */

/** What a provider can do; callers branch on these, never on the provider's name. */
export interface TtsCapabilities {
  /** Audio arrives while the provider is still synthesizing (vendor streaming), not all at the end. */
  streaming: boolean;
  /** Runs on this machine with no network (safe as the fallback). */
  offline: boolean;
}

/** Told to the caller of `synthesize` when a provider failed and another one spoke instead. */
export interface TtsFailure {
  /** Label of the provider that failed. */
  provider: string;
  message: string;
  /** Label of the provider that spoke instead, when one did. */
  fallback?: string;
}

export interface SynthesizeOptions {
  /** Aborting stops synthesis at once: the iterable ends (or throws an AbortError) and the process/request is gone. */
  signal: AbortSignal;
  /** Called when a provider failed; the fallback adapter calls it before the fallback speaks. */
  onFailure?: (f: TtsFailure) => void;
}

export interface TextToSpeech {
  /** Provider name, e.g. `local:flite`, `elevenlabs`; part of the cache key. */
  readonly label: string;
  /** Voice id or name; part of the cache key. */
  readonly voice: string;
  readonly capabilities: TtsCapabilities;
  /** 8 kHz mu-law mono, raw (no header), in chunks of any size. Throws `ProviderError` (libs/runtime) on failure. */
  synthesize(text: string, opts: SynthesizeOptions): AsyncIterable<Uint8Array>;
}
