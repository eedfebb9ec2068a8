import { TtsError, abortError, isAbort } from "./errors";
import type { SynthesizeOptions, TextToSpeech, TtsCapabilities } from "./types";

export interface ResilienceOptions {
  /** Give up on an attempt that has produced no audio after this long. */
  firstChunkTimeoutMs: number;
  /** Give up when audio stops flowing mid-utterance for this long. */
  idleTimeoutMs: number;
  /** Extra attempts for retryable failures before the first chunk (after it, a retry would repeat audio). */
  retries: number;
  /** First back-off; doubles per attempt. */
  backoffMs: number;
}

/**
 * The one place with timeouts and retries, wrapped around every provider by the factory.
 * Also turns "finished without a byte" into a `bad-audio` error, so the fallback speaks instead of silence.
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

  async *synthesize(text: string, opts: SynthesizeOptions): AsyncGenerator<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      const ctl = new AbortController();
      const onAbort = () => ctl.abort();
      opts.signal.addEventListener("abort", onAbort, { once: true });
      const it = this.inner.synthesize(text, { signal: ctl.signal })[Symbol.asyncIterator]();
      try {
        let first: IteratorResult<Uint8Array>;
        try {
          first = await this.next(it, this.o.firstChunkTimeoutMs, ctl, "first audio");
          if (first.done) throw new TtsError(`${this.label} returned no audio`, "bad-audio", false);
        } catch (err) {
          if (opts.signal.aborted) throw abortError();
          const e = asTtsError(this.label, err);
          if (!e.retryable || attempt >= this.o.retries) throw e;
          await sleep(this.o.backoffMs * 2 ** attempt, opts.signal);
          continue;
        }
        yield first.value;
        for (;;) {
          let r: IteratorResult<Uint8Array>;
          try {
            r = await this.next(it, this.o.idleTimeoutMs, ctl, "more audio");
          } catch (err) {
            if (opts.signal.aborted) throw abortError();
            throw asTtsError(this.label, err);
          }
          if (r.done) return;
          yield r.value;
        }
      } finally {
        opts.signal.removeEventListener("abort", onAbort);
        ctl.abort();
        void Promise.resolve(it.return?.()).catch(() => {});
      }
    }
  }

  private next(it: AsyncIterator<Uint8Array>, ms: number, ctl: AbortController, what: string): Promise<IteratorResult<Uint8Array>> {
    const p = it.next();
    p.catch(() => {});
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => {
        ctl.abort();
        reject(new TtsError(`${this.label} sent no ${what} within ${ms} ms`, "timeout", true));
      }, ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(t));
  }
}

function asTtsError(label: string, err: unknown): TtsError {
  if (err instanceof TtsError) return err;
  if (isAbort(err)) return new TtsError(`${label} aborted`, "network", true, undefined, { cause: err });
  return new TtsError(`${label} failed: ${(err as Error)?.message ?? String(err)}`, "engine", false, undefined, { cause: err });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
