import type { SaidLine } from "./turn";

/** Wait this long for a say's first audio chunk before sending it again. */
export const SAY_RETRY_MS_DEFAULT = 3000;
/** Sends after the first, at most. */
export const SAY_MAX_RETRIES = 2;

interface Waiting {
  timer: NodeJS.Timeout;
  tries: number;
}

/**
 * Says whose first audio has not arrived yet. A `say` sent while no tts instance is subscribed (tts
 * restarting, NATS down) is gone; after `afterMs` without its `tts.first-chunk` it is sent again
 * (same utteranceId: tts drops a repeat of one it already has), at most `SAY_MAX_RETRIES` times.
 */
export class SayRetries {
  private readonly waiting = new Map<string, Waiting>();

  /** `resend` returns false when the utterance is moot (cancelled, stream gone): no more tries. */
  constructor(
    private readonly resend: (u: SaidLine, generation: number, endOfTurn: boolean) => boolean,
    private readonly afterMs = SAY_RETRY_MS_DEFAULT,
  ) {}

  sent(u: SaidLine, generation: number, endOfTurn: boolean): void {
    this.arrived(u.id);
    const arm = (tries: number) => {
      const timer = setTimeout(() => {
        this.waiting.delete(u.id);
        if (this.resend(u, generation, endOfTurn) && tries + 1 < SAY_MAX_RETRIES) arm(tries + 1);
      }, this.afterMs);
      timer.unref?.();
      this.waiting.set(u.id, { timer, tries });
    };
    arm(0);
  }

  /** Audio (or a mark) for `id` came: tts has it. */
  arrived(id: string): void {
    const w = this.waiting.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(id);
  }

  clear(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
  }
}
