/**
 * The caller's silence after the model finished: the first time `onSilent(1)` (a re-prompt), the next
 * `onSilent(2)` (goodbye). Any caller speech starts the count again. `ms` 0 = off.
 */
export class CallerSilence {
  private silences = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly onSilent: (silences: number) => void,
  ) {}

  /** Start waiting, unless something is still being said (`busy`): then the wait starts when it is over. */
  arm(busy: boolean): void {
    this.pause();
    if (this.ms <= 0 || busy) return;
    this.timer = setTimeout(() => this.onSilent(++this.silences), this.ms);
  }

  /** The caller spoke. */
  heard(): void {
    this.silences = 0;
    this.pause();
  }

  pause(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
