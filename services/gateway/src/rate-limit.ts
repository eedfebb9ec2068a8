/**
 * Fixed-window counters per key, in memory (one gateway instance's view; good enough to blunt
 * brute force and runaway clients). Windows are swept lazily so memory stays bounded by active keys.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Count one hit for `key`; false when it is over the limit for the current window. */
  hit(key: string): boolean {
    const w = this.current(key);
    w.count++;
    return w.count <= this.limit;
  }

  /** True when `key` already used its budget (without counting a hit). */
  exhausted(key: string): boolean {
    return this.current(key).count >= this.limit;
  }

  private current(key: string): { start: number; count: number } {
    const t = this.now();
    if (this.windows.size > 10_000)
      for (const [k, w] of this.windows) if (t - w.start >= this.windowMs) this.windows.delete(k);
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    return w;
  }
}
