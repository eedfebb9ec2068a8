import type { Logger } from "@voicecall/log";
import { SilenceClock } from "./timers";

export interface SilenceDeps {
  ms: number;
  log: Logger;
  /** Whether the clock may run now: a live stream, nobody speaking, no answer being prepared, not ending. */
  mayArm: () => boolean;
  /** Whether a silence that just elapsed should still be acted on (the call may have moved on). */
  mayAct: () => boolean;
  /** First silence. */
  reprompt: (count: number) => void;
  /** Second silence: say goodbye, hang up once it was heard. */
  goodbye: (count: number) => void;
}

/** The caller's silence: re-prompt once, then a goodbye. Caller activity starts the count again. */
export class SilenceWatch {
  private readonly clock: SilenceClock;

  constructor(private readonly d: SilenceDeps) {
    this.clock = new SilenceClock(d.ms, (n) => this.elapsed(n));
  }

  /** The caller did something (speech, a key, a line): the count starts again. */
  callerActive(): void {
    this.clock.reset();
  }

  /** Start the clock if nothing else is going on; otherwise keep it stopped. */
  arm(): void {
    this.clock.pause();
    if (this.d.mayArm()) this.clock.arm();
  }

  /** The agent speaks (or the stream is gone): no silence is counted meanwhile. */
  pause(): void {
    this.clock.pause();
  }

  private elapsed(count: number): void {
    if (!this.d.mayAct()) return;
    this.d.log.info({ silences: count }, "caller silent");
    if (count === 1) this.d.reprompt(count);
    else this.d.goodbye(count);
  }
}
