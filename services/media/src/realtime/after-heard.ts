import type { OutResponse } from "./output";

/** What an action waits on: the response that asked for it, a tagged response we asked for, or our own utterance. */
export interface HeardWhat {
  responseId?: string;
  /** For responses we ask for ourselves: their id is known only once they start, their tag at once. */
  tag?: string;
  utteranceId?: string;
}

/**
 * One action held until the caller heard what came before it (end_call's goodbye, the silence goodbye,
 * the apology), with a timeout so a mark that never echoes cannot keep the call up. Only one at a time:
 * a newer action replaces the older (the call is ending either way).
 */
export class AfterHeard {
  private pending?: HeardWhat & { run: () => void; timer: NodeJS.Timeout };

  constructor(private readonly timeoutMs: number) {}

  get waiting(): boolean {
    return this.pending !== undefined;
  }

  /** Hold `run` until `what` was heard; `heardAlready` runs it now (its response was played before the call came). */
  hold(what: HeardWhat, run: () => void, heardAlready = false): void {
    this.cancel();
    if (heardAlready) return run();
    const timer = setTimeout(() => this.fire(), this.timeoutMs);
    this.pending = { ...what, run, timer };
  }

  /** A response was heard in full: true if that was what the action waited on (it ran). */
  responseHeard(r: OutResponse): boolean {
    const p = this.pending;
    if (!p || !(p.responseId === r.id || (p.tag !== undefined && p.tag === r.tag))) return false;
    this.fire();
    return true;
  }

  /** An utterance's last mark echoed: true if the action waited on it (it ran). */
  utterancePlayed(id: string): boolean {
    if (this.pending?.utteranceId !== id) return false;
    this.fire();
    return true;
  }

  cancel(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  private fire(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.run();
  }
}
