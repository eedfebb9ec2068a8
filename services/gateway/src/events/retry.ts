/** When a failing event is tried again, and when it is given up (all durations in ms). */
export interface RetryPolicy {
  /** First retry after this; doubled each attempt. EVENT_RETRY_BASE_MS. */
  baseMs: number;
  /** Longest wait between attempts. EVENT_RETRY_MAX_MS. */
  maxMs: number;
  /** Give up (dead-letter) once the event has been failing this long. EVENT_RETRY_BUDGET_MS. */
  budgetMs: number;
}

export type Outcome = { ok: true; status: number } | { ok: false; retryable: boolean; error: string; status?: number };

export type NextStep = { kind: "retry"; at: number } | { kind: "dead" };

/** Wait before attempt `attempts + 1`: base·2^(attempts−1), capped, minus up to 20 % jitter so receivers coming back are not hit in lockstep. */
export function backoffMs(attempts: number, p: RetryPolicy, random = Math.random): number {
  const raw = Math.min(p.maxMs, p.baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  return Math.round(raw * (1 - 0.2 * random()));
}

/** After a failed attempt: retry later, or dead-letter (refused for good, or out of budget). */
export function nextStep(
  o: Extract<Outcome, { ok: false }>,
  attempts: number,
  firstFailureAt: number,
  now: number,
  p: RetryPolicy,
  random = Math.random,
): NextStep {
  if (!o.retryable) return { kind: "dead" };
  const at = now + backoffMs(attempts, p, random);
  // An attempt that would start after the budget is not made.
  if (at - firstFailureAt > p.budgetMs) return { kind: "dead" };
  return { kind: "retry", at };
}

/** 2xx accepted; 408, 429, 5xx, timeouts and network errors are retried; other answers are final (STYLE 8). */
export function classify(status: number): Outcome {
  if (status >= 200 && status < 300) return { ok: true, status };
  const retryable = status === 408 || status === 429 || status >= 500;
  return { ok: false, retryable, status, error: `receiver answered ${status}` };
}
