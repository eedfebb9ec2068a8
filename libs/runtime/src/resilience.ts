/**
 * The one provider-resilience policy, shared by LLM, TTS and STT: one error type, which failures are
 * worth another try, back-off, and a stream wrapper with first-chunk and idle timeouts that retries
 * only before the first chunk (after it, a retry would repeat words or audio the caller already has).
 */

/** Why a provider failed, loosely: for logs and metrics only; `retryable` is what decides. */
export type ProviderErrorKind = "timeout" | "http" | "bad-output" | "engine" | "network";

/** A provider failure. `cause` should be reduced with `safeError` first when it may hold a request (keys). */
export class ProviderError extends Error {
  override name = "ProviderError";
  readonly kind: ProviderErrorKind;
  readonly status?: number;
  constructor(
    message: string,
    readonly retryable: boolean,
    options: { kind?: ProviderErrorKind; status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = options.kind ?? (options.status !== undefined ? "http" : "engine");
    if (options.status !== undefined) this.status = options.status;
  }
}

/** An HTTP (or WebSocket upgrade) status: 4xx is final except 408 (timeout) and 429 (rate limit); 5xx is retryable. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** `provider answered HTTP 503: …` as a ProviderError; `detail` must already be scrubbed (vendorMessage). */
export function statusError(provider: string, status: number, detail: string): ProviderError {
  return new ProviderError(`${provider} answered HTTP ${status}: ${detail.slice(0, 200)}`, retryableStatus(status), {
    status,
  });
}

/** Exponential back-off: `baseMs`·2^attempt, at most `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs = 2000): number {
  return Math.min(maxMs, baseMs * 2 ** attempt);
}

export const isAbort = (err: unknown): boolean => (err as Error | undefined)?.name === "AbortError";

/** An Error named AbortError, as fetch and AbortSignal throw. */
export function abortError(what = "aborted"): Error {
  const e = new Error(what);
  e.name = "AbortError";
  return e;
}

/** Wait `ms`, or reject with an AbortError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(t);
      reject(abortError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface StreamPolicy {
  /** Give up on an attempt that has produced nothing after this long. */
  firstChunkTimeoutMs: number;
  /** Give up when chunks stop flowing for this long after the first. */
  idleTimeoutMs: number;
  /** Extra attempts after a retryable failure, only while nothing has been yielded yet. */
  retries: number;
  /** First back-off; doubles per attempt (at most 2 s). */
  backoffMs: number;
}

export interface StreamOptions {
  /** The caller's signal: aborting it ends the stream quietly (an AbortError, never a ProviderError). */
  signal: AbortSignal;
  /** The provider, for messages. */
  label: string;
  /** Finished without a single chunk: this error (retried like any other), else an empty stream is fine. */
  empty?: () => ProviderError;
  /** Told before each retry, with the reduced error. */
  onRetry?: (attempt: number, err: ProviderError) => void;
}

/** Anything thrown, as a ProviderError: timeouts and aborts of ours are retryable, unknown errors are not. */
export function asProviderError(label: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (isAbort(err)) return new ProviderError(`${label} aborted`, true, { kind: "network", cause: err });
  return new ProviderError(`${label} failed: ${(err as Error)?.message ?? String(err)}`, false, {
    kind: "engine",
    cause: err,
  });
}

/**
 * `open(signal)` once per attempt, its chunks passed on. Before the first chunk: a retryable failure
 * (or the first-chunk timeout) backs off and opens again, up to `retries` times. After it, any failure
 * (or the idle timeout) is final. Errors come out as ProviderError; the caller's abort as AbortError.
 */
export async function* resilientStream<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  p: StreamPolicy,
  o: StreamOptions,
): AsyncGenerator<T> {
  for (let attempt = 0; ; attempt++) {
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(o.signal.reason);
    o.signal.addEventListener("abort", onAbort, { once: true });
    let it: AsyncIterator<T> | undefined;
    try {
      let first: IteratorResult<T>;
      try {
        it = open(ctl.signal)[Symbol.asyncIterator]();
        first = await next(
          it,
          p.firstChunkTimeoutMs,
          ctl,
          `${o.label} timeout: nothing within ${p.firstChunkTimeoutMs} ms`,
        );
        if (first.done && o.empty) throw o.empty();
      } catch (err) {
        if (o.signal.aborted) throw abortError();
        const e = asProviderError(o.label, err);
        if (!e.retryable || attempt >= p.retries) throw e;
        o.onRetry?.(attempt, e);
        await sleep(backoffMs(attempt, p.backoffMs), o.signal);
        continue;
      }
      if (first.done) return;
      yield first.value;
      for (;;) {
        let r: IteratorResult<T>;
        try {
          r = await next(it, p.idleTimeoutMs, ctl, `${o.label} timeout: nothing more for ${p.idleTimeoutMs} ms`);
        } catch (err) {
          if (o.signal.aborted) throw abortError();
          throw asProviderError(o.label, err);
        }
        if (r.done) return;
        yield r.value;
      }
    } finally {
      o.signal.removeEventListener("abort", onAbort);
      ctl.abort();
      if (it) void Promise.resolve(it.return?.()).catch(() => {});
    }
  }
}

/** `it.next()` or a retryable timeout after `ms` (which aborts the attempt). */
function next<T>(it: AsyncIterator<T>, ms: number, ctl: AbortController, message: string): Promise<IteratorResult<T>> {
  const p = it.next();
  p.catch(() => {});
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => {
      const e = new ProviderError(message, true, { kind: "timeout" });
      ctl.abort(e);
      reject(e);
    }, ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}
