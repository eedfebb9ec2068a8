/** Runs an action once a given utterance has played (its done mark), or after a timeout. */
export class AfterMark {
  private cur?: { utteranceId: string; run: () => void; timer: NodeJS.Timeout };

  /** Replace any waiting action. */
  set(utteranceId: string, fn: () => void, timeoutMs: number): void {
    this.cancel();
    let done = false;
    const run = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (this.cur?.run === run) this.cur = undefined;
      fn();
    };
    const timer = setTimeout(run, timeoutMs);
    this.cur = { utteranceId, run, timer };
  }

  /** The utterance played: run its action if one waits for it. */
  played(utteranceId: string): void {
    if (this.cur?.utteranceId === utteranceId) this.cur.run();
  }

  get waiting(): boolean {
    return this.cur !== undefined;
  }

  cancel(): void {
    if (this.cur) clearTimeout(this.cur.timer);
    this.cur = undefined;
  }
}

/** Counts caller silences: `arm` starts the clock, caller activity `reset`s it and the count. */
export class SilenceClock {
  private timer?: NodeJS.Timeout;
  count = 0;

  constructor(
    private readonly ms: number,
    private readonly onSilence: (count: number) => void,
  ) {}

  arm(): void {
    this.pause();
    this.timer = setTimeout(() => this.onSilence(++this.count), this.ms);
  }

  pause(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  reset(): void {
    this.pause();
    this.count = 0;
  }
}
