import { ProviderError, resilientStream, type StreamPolicy } from "@voicecall/runtime";
import type { SynthesizeOptions, TextToSpeech, TtsCapabilities } from "./types";

/** The shared stream policy (libs/runtime): first-chunk and idle timeouts, retries before the first chunk. */
export type ResilienceOptions = StreamPolicy;

/**
 * Every provider behind the shared policy, wrapped by the factory. "Finished without a byte" is a
 * `bad-output` error here, so the fallback speaks instead of silence.
 */
export class ResilientTts implements TextToSpeech {
  readonly label: string;
  readonly voice: string;
  readonly capabilities: TtsCapabilities;

  constructor(
    private readonly inner: TextToSpeech,
    private readonly o: ResilienceOptions,
  ) {
    this.label = inner.label;
    this.voice = inner.voice;
    this.capabilities = inner.capabilities;
  }

  synthesize(text: string, opts: SynthesizeOptions): AsyncGenerator<Uint8Array> {
    return resilientStream((signal) => this.inner.synthesize(text, { signal }), this.o, {
      signal: opts.signal,
      label: this.label,
      empty: () => new ProviderError(`${this.label} returned no audio`, false, { kind: "bad-output" }),
    });
  }
}
