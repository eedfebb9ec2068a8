import { createHash } from "node:crypto";
import type { Logger } from "@voicecall/log";
import type { CallStore } from "@voicecall/store";
import type { TextToSpeech, TtsFailure } from "./providers";

export interface PhraseCacheOptions {
  /** TTL of a cached phrase (TTS_CACHE_TTL_MS). */
  ttlMs: number;
  /** Texts longer than this are spoken but not stored. */
  maxChars: number;
  /** A pre-render that takes longer than this is abandoned. */
  prerenderTimeoutMs?: number;
}

/** Where a say's audio comes from. `provider` is the label that actually spoke. */
export interface AudioSource {
  chunks: AsyncIterable<Uint8Array>;
  cached: boolean;
  provider: () => string;
}

type Rendered = { audio: Uint8Array; provider: string } | null;

/**
 * Phrase cache in Redis (`store.ttsGet/ttsSet`), keyed by sha256(provider, voice, text).
 * Pre-renders are single-flight: a say for text being pre-rendered waits for that render instead of
 * starting a second one. Audio spoken by the fallback provider is never stored under the primary's key.
 */
export class PhraseCache {
  private readonly inflight = new Map<string, Promise<Rendered>>();
  /**
   * Live syntheses in progress, by key: a say for the same text waits for that one (and plays it whole)
   * instead of starting its own. Twenty calls given one scripted answer at once would otherwise start
   * twenty engine processes that starve each other past the first-chunk timeout, and none is heard.
   */
  private readonly live = new Map<string, Promise<Rendered>>();

  constructor(
    private readonly store: CallStore,
    private readonly tts: TextToSpeech,
    private readonly log: Logger,
    private readonly o: PhraseCacheOptions,
  ) {}

  key(text: string): string {
    return createHash("sha256").update(`${this.tts.label}\0${this.tts.voice}\0${text}`).digest("hex");
  }

  /**
   * Render `text` whole into the cache unless it is there already. Resolves when done; never throws.
   * `onFailure` hears of a vendor failure (the fallback's audio is kept in memory for a waiting say only).
   */
  prerender(text: string, onFailure?: (f: TtsFailure) => void): Promise<Rendered> {
    const k = this.key(text);
    const running = this.inflight.get(k);
    if (running) return running;
    const p = (async (): Promise<Rendered> => {
      const hit = await this.store.ttsGet(k);
      if (hit) return { audio: hit, provider: this.tts.label };
      const signal = AbortSignal.timeout(this.o.prerenderTimeoutMs ?? 30_000);
      let failed: string | undefined;
      const parts: Uint8Array[] = [];
      for await (const c of this.tts.synthesize(text, {
        signal,
        onFailure: (f) => {
          failed = f.fallback;
          onFailure?.(f);
        },
      }))
        parts.push(c);
      const audio = Buffer.concat(parts);
      if (!failed) await this.store.ttsSet(k, audio, this.o.ttlMs);
      return { audio, provider: failed ?? this.tts.label };
    })()
      .catch((err) => {
        this.log.warn({ err: (err as Error).message }, "prerender failed");
        return null;
      })
      .finally(() => this.inflight.delete(k));
    this.inflight.set(k, p);
    return p;
  }

  /**
   * Audio for a say: a pre-render or live synthesis of the same text in progress (waited for), the
   * Redis cache, or live synthesis (stored when complete, cacheable and spoken by the primary).
   */
  async open(text: string, signal: AbortSignal, onFailure: (f: TtsFailure) => void): Promise<AudioSource> {
    const k = this.key(text);
    // A render that failed or was cancelled settles null and leaves the map: look again (another waiter
    // may have taken over), or synthesize.
    for (
      let running = this.inflight.get(k) ?? this.live.get(k);
      running && !signal.aborted;
      running = this.inflight.get(k) ?? this.live.get(k)
    ) {
      const rendered = await abortable(running, signal);
      if (rendered) return { chunks: once(rendered.audio), cached: true, provider: () => rendered.provider };
    }
    // Registered before the first await, so a say for the same text arriving meanwhile waits for this one.
    let settle!: (r: Rendered) => void;
    const shared = new Promise<Rendered>((r) => (settle = r));
    this.live.set(k, shared);
    const finish = (r: Rendered) => {
      if (this.live.get(k) === shared) this.live.delete(k);
      settle(r);
    };
    const hit = await this.store.ttsGet(k).catch((err) => {
      this.log.warn({ err: (err as Error).message }, "tts cache read failed");
      return null;
    });
    if (hit && hit.length > 0) {
      finish({ audio: hit, provider: this.tts.label });
      return { chunks: once(hit), cached: true, provider: () => this.tts.label };
    }
    let provider = this.tts.label;
    const live = this.tts.synthesize(text, {
      signal,
      onFailure: (f) => {
        provider = f.fallback ?? provider;
        onFailure(f);
      },
    });
    const cacheable = text.length <= this.o.maxChars;
    const done = (audio: Uint8Array) => {
      finish({ audio, provider });
      return cacheable && provider === this.tts.label ? this.store.ttsSet(k, audio, this.o.ttlMs) : undefined;
    };
    return { chunks: tee(live, done, this.log, () => finish(null)), cached: false, provider: () => provider };
  }
}

async function* once(audio: Uint8Array): AsyncGenerator<Uint8Array> {
  yield audio;
}

/**
 * Pass chunks through; when the stream completes (not aborted, not failed), hand the whole audio to
 * `done`; otherwise (an error, or the reader stopped early) call `failed`.
 */
async function* tee(
  src: AsyncIterable<Uint8Array>,
  done: (audio: Uint8Array) => Promise<void> | undefined,
  log: Logger,
  failed: () => void,
): AsyncGenerator<Uint8Array> {
  const parts: Uint8Array[] = [];
  let complete = false;
  try {
    for await (const c of src) {
      parts.push(c);
      yield c;
    }
    complete = true;
  } finally {
    if (!complete) failed();
  }
  await Promise.resolve(done(Buffer.concat(parts))).catch((err) =>
    log.warn({ err: (err as Error).message }, "tts cache write failed"),
  );
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onAbort = () => resolve(null);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, () => resolve(null)).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
