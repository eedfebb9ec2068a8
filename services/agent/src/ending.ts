import type { Logger } from "@voicecall/log";
import type { CallWrites } from "./call-writes";
import type { Outbox } from "./outbox";
import { AfterMark } from "./timers";
import type { SaidLine } from "./turn";

export interface EndingDeps {
  out: Outbox;
  writes: CallWrites;
  log: Logger;
  /** Hang up / transfer anyway if the awaited mark has not come back within this. */
  markTimeoutMs: number;
  /** `id` is still queued or playing. */
  isSpeaking: (id: string) => boolean;
  /** A voicemail is being left: the call ends once it was heard. */
  voicemail: () => boolean;
  /** The call was hung up (nothing more is counted, e.g. silence). */
  onHangup: () => void;
}

/**
 * The one place that decides whether the call is ending, from the facts: it was hung up or handed on,
 * a voicemail is being left, or a hang-up/transfer waits for a line to be heard first.
 */
export class Ending {
  /** Hung up or handed on. */
  private over = false;
  private readonly after = new AfterMark();

  constructor(private readonly d: EndingDeps) {}

  get ending(): boolean {
    return this.over || this.d.voicemail() || this.after.waiting;
  }

  hangup(reason: string): void {
    this.over = true;
    this.d.onHangup();
    this.d.log.info({ reason }, "hanging up");
    this.d.out.hangup(reason);
  }

  transfer(to: string): void {
    this.over = true;
    void this.d.writes.transcript("system", `transferred to ${to}`);
    this.d.out.transfer(to);
  }

  /** Run `fn` once `id` was heard (its done mark), or after the mark timeout. Replaces any waiting action. */
  afterHeard(id: string, fn: () => void): void {
    this.after.set(id, fn, this.d.markTimeoutMs);
  }

  /** Run `fn` once the last of `said` was heard, or at once if nothing of it is playing. */
  afterLast(said: readonly SaidLine[], fn: () => void): void {
    this.after.cancel();
    const last = said.at(-1);
    if (!last || !this.d.isSpeaking(last.id)) return fn();
    this.afterHeard(last.id, fn);
  }

  /** A done mark: the action waiting for it runs. */
  played(id: string): void {
    this.after.played(id);
  }

  /** The caller spoke over the line a hang-up/transfer waited for, or the call changed course: it is off. */
  callOff(): void {
    this.after.cancel();
  }
}
