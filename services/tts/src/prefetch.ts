import type { AudioSource } from "./cache";

/**
 * Starts an utterance's synthesis now and buffers its chunks until the speaker gets to it, so the
 * next sentence of a turn renders while the current one streams. Read once, in order.
 */
export class Prefetch implements AsyncIterable<Uint8Array> {
  /** The opened source (cache hit or live), for `cached` and `provider`. */
  readonly opened: Promise<AudioSource>;
  private readonly buf: Uint8Array[] = [];
  private done = false;
  private error: unknown;
  private wake: (() => void) | undefined;

  constructor(open: () => Promise<AudioSource>) {
    this.opened = open();
    this.opened.catch(() => {});
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      for await (const c of (await this.opened).chunks) {
        this.buf.push(c);
        this.wake?.();
      }
    } catch (err) {
      this.error = err;
    } finally {
      this.done = true;
      this.wake?.();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.buf.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.done) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}
