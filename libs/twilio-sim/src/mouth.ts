import { toFrames } from "@voicecall/audio";

/**
 * The caller's outgoing audio: 160-byte frames the media stream takes one per 20 ms. When empty
 * the stream sends silence (0xFF). A `say` resolves when its last frame has been sent.
 */
export class Mouth {
  private frames: Uint8Array[] = [];
  private pushed = 0;
  private taken = 0;
  private waiters: { until: number; resolve: () => void }[] = [];

  /** Queue mu-law audio; resolves once it has all gone out on a stream. */
  push(mu: Uint8Array): Promise<void> {
    const frames = toFrames(mu);
    this.frames.push(...frames);
    this.pushed += frames.length;
    const until = this.pushed;
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }

  next(): Uint8Array | undefined {
    const f = this.frames.shift();
    if (!f) return undefined;
    this.taken++;
    this.waiters = this.waiters.filter((w) => (w.until <= this.taken ? (w.resolve(), false) : true));
    return f;
  }

  get talking(): boolean {
    return this.frames.length > 0;
  }

  /** Drop whatever has not been said yet (the caller stops talking); pending says resolve. */
  flush(): void {
    this.taken += this.frames.length;
    this.frames = [];
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
