/**
 * A single-consumer async queue: producers `push`, one `for await` reads. `end()` finishes the
 * iteration after what is queued; `fail(err)` makes the reader throw after what is queued.
 * Unbounded by design: speech events are few (a handful per utterance).
 */
export class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter: (() => void) | undefined;
  private done = false;
  private error: unknown;

  push(item: T): void {
    if (this.done) return;
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.done = true;
    this.wake();
  }

  fail(err: unknown): void {
    if (this.done) return;
    this.error = err;
    this.end();
  }

  get ended(): boolean {
    return this.done;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length > 0) {
        yield this.items.shift()!;
        continue;
      }
      if (this.done) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((r) => (this.waiter = r));
    }
  }
}
