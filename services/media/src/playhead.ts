/**
 * Where the caller's playhead is, seen from our side of the network. Pure (times are passed in).
 *
 * Between echoes the player is taken to play in real time from the newest anchor, never past what was sent.
 * A mark's echo says the player stood at the mark half a round trip ago (the echo's way back), so it
 * re-anchors there. The round trip itself comes from the send clock: a mark is due when a player with no
 * delay would reach it, and its echo comes back one round trip later, or later still if the caller's player
 * stalled. The median lateness of the recent echoes is the round trip: the smallest would be biased low by
 * the jitter (by 60 ms at ±30 ms each way, all of it error), while a rare stall moves the median little.
 * The split into halves assumes a symmetric path (the one thing marks cannot tell).
 */
export class PlayheadEstimate {
  private anchor = { t: 0, pos: 0 };
  private readonly lateness: number[] = [];
  private readonly errs: number[] = [];
  /** Round trip (ms): the median echo lateness of the last `window` marks; 0 before any echo. */
  rttMs = 0;

  constructor(
    private readonly bytesPerMs: number,
    private readonly window = 50,
  ) {}

  /** Estimated stream byte position at time `t`, never beyond `sent`. */
  at(t: number, sent: number): number {
    return Math.min(sent, this.anchor.pos + Math.max(0, t - this.anchor.t) * this.bytesPerMs);
  }

  /** Playback starts again at `pos` with audio sent at `now`: it reaches the caller half a round trip later. */
  restart(now: number, pos: number): void {
    this.anchor = { t: now + this.rttMs / 2, pos };
  }

  /** Twilio's buffer was cleared: the stream starts over at `pos`. */
  reset(now: number, pos: number): void {
    this.anchor = { t: now, pos };
  }

  /**
   * The echo of the mark at `pos` (stream bytes), due on the send clock at `dueAt`, arrived `now`.
   * Returns the correction (ms; positive: the estimate was ahead of the caller).
   */
  echo(now: number, pos: number, dueAt: number, sent: number): number {
    const calibrating = this.lateness.length === 0;
    this.lateness.push(Math.max(0, now - dueAt));
    if (this.lateness.length > this.window) this.lateness.shift();
    const sorted = [...this.lateness].sort((a, b) => a - b);
    this.rttMs = sorted[Math.floor(sorted.length / 2)]!;
    const half = this.rttMs / 2;
    const observed = Math.min(sent, pos + half * this.bytesPerMs);
    const err = (this.at(now, sent) - observed) / this.bytesPerMs;
    this.anchor = { t: now - half, pos };
    // Before the first echo the round trip is unknown: that first correction is calibration, not drift.
    if (!calibrating) this.errs.push(Math.abs(err));
    if (this.errs.length > 8) this.errs.shift();
    return err;
  }

  /** The largest of the newest corrections (ms): how far off the estimate has lately been. */
  get recentErrMs(): number {
    return this.errs.length ? Math.round(Math.max(...this.errs) * 10) / 10 : 0;
  }
}
