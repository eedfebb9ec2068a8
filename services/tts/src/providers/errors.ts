/** Why a synthesis failed; `retryable` decides whether the shared wrapper tries again. */
export type TtsErrorKind = "timeout" | "http" | "bad-audio" | "engine" | "network";

export class TtsError extends Error {
  override name = "TtsError";
  constructor(
    message: string,
    readonly kind: TtsErrorKind,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** An HTTP error status: 4xx are final except 408 (timeout) and 429 (rate limit); 5xx are retryable. */
  static fromStatus(provider: string, status: number, body: string): TtsError {
    const retryable = status >= 500 || status === 408 || status === 429;
    return new TtsError(`${provider} answered HTTP ${status}: ${body.slice(0, 200)}`, "http", retryable, status);
  }
}

export const isAbort = (err: unknown): boolean => (err as Error | undefined)?.name === "AbortError";

/** An Error named AbortError, as fetch and AbortSignal throw. */
export function abortError(): Error {
  const e = new Error("synthesis aborted");
  e.name = "AbortError";
  return e;
}
