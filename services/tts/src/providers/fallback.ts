import { isAbort } from "@voicecall/runtime";
import type { SynthesizeOptions, TextToSpeech, TtsCapabilities } from "./types";

/**
 * Failover as an adapter: speaks with `primary`; when it fails (after the shared wrapper's retries and
 * timeouts) it reports the failure through `onFailure` and `fallback` speaks the whole text, so the caller
 * never hears silence. A failure mid-utterance also replays the whole text: the caller hears the start twice
 * rather than missing the rest (greetings and notices must be heard whole).
 */
export class FallbackTts implements TextToSpeech {
  readonly label: string;
  readonly voice: string;
  readonly capabilities: TtsCapabilities;

  constructor(
    private readonly primary: TextToSpeech,
    private readonly fallback: TextToSpeech,
  ) {
    this.label = primary.label;
    this.voice = primary.voice;
    this.capabilities = primary.capabilities;
  }

  async *synthesize(text: string, opts: SynthesizeOptions): AsyncGenerator<Uint8Array> {
    let bytes = 0;
    try {
      for await (const c of this.primary.synthesize(text, opts)) {
        bytes += c.length;
        yield c;
      }
      return;
    } catch (err) {
      if (opts.signal.aborted || isAbort(err)) throw err;
      const message = (err as Error).message + (bytes > 0 ? ` (after ${bytes / 8} ms of audio)` : "");
      opts.onFailure?.({ provider: this.primary.label, message, fallback: this.fallback.label });
    }
    yield* this.fallback.synthesize(text, opts);
  }
}
