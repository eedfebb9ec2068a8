/** The simulator's clock: epoch ms with sub-ms resolution. */
export const clock = (): number => performance.timeOrigin + performance.now();

const ALIVE_EVERY_MS = 5;
let lastAlive = 0;
let watch: NodeJS.Timeout | undefined;

/**
 * When a message read now reached the simulator, at the earliest. The simulator runs every call in one
 * event loop; when that loop is blocked, a message that came in during the block is read only after it.
 * A real Twilio edge would have had it at once, so the simulator's own lag must not make it late: if the
 * loop has not ticked for a while, the message is taken to have arrived when the block began.
 */
export function arrivalTime(): number {
  if (!watch) {
    watch = setInterval(() => (lastAlive = clock()), ALIVE_EVERY_MS);
    watch.unref();
    lastAlive = clock();
  }
  const now = clock();
  return now - lastAlive > 2 * ALIVE_EVERY_MS ? Math.min(now, lastAlive + ALIVE_EVERY_MS) : now;
}

/** One direction of a call's Media Streams socket: a one-way delay, and jitter of ± `jitterMs` (uniform). */
export interface LinkConditions {
  delayMs: number;
  jitterMs?: number;
}

/**
 * The network between the app and Twilio's media edge, per call. Twilio documents no figures for it (the
 * round trip is the path from the app's host to the edge of Twilio's region): delay and jitter are set per
 * call, jitter is drawn per message (the less forgiving choice: a real TCP segment often carries a burst
 * whole), order is kept as TCP keeps it, and loss is not modelled (see README, "Network"). `toTwilio` delays what the app sends
 * (media, marks, clear), `fromTwilio` what Twilio sends (caller frames, mark echoes, dtmf, stop).
 */
export interface NetworkConditions {
  toTwilio?: LinkConditions;
  fromTwilio?: LinkConditions;
}

/** A symmetric path: half the round trip each way, the same jitter each way. */
export function roundTrip(rttMs: number, jitterMs = 0): NetworkConditions {
  const l = { delayMs: rttMs / 2, jitterMs };
  return { toTwilio: l, fromTwilio: { ...l } };
}

/**
 * One direction of a TCP connection: every message is held for the delay plus a jitter drawn for it alone
 * (never below zero), and never overtakes the one before it (head-of-line blocking, as TCP does). Messages
 * are handed over with the time they were due, so a late timer (the simulator's own event-loop lag)
 * does not move where the player puts them. With no delay and no jitter, delivery is synchronous.
 */
export class DelayLine {
  private last = 0;
  private q: { at: number; fn: (at: number) => void }[] = [];
  private timer?: NodeJS.Timeout;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly link: () => LinkConditions | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Send a message that left at `sentAt` (default now); `fn` runs when it arrives, with its due time. */
  send(fn: (at: number) => void, sentAt = this.now()): void {
    const l = this.link();
    const delay = Math.max(0, (l?.delayMs ?? 0) + (Math.random() * 2 - 1) * (l?.jitterMs ?? 0));
    if (delay === 0 && this.q.length === 0) {
      this.last = Math.max(this.last, sentAt);
      return fn(sentAt);
    }
    const at = Math.max(this.last, sentAt + delay);
    this.last = at;
    this.q.push({ at, fn });
    if (this.q.length === 1) this.arm();
  }

  /** Resolves once everything sent so far has arrived. */
  drained(): Promise<void> {
    if (this.q.length === 0) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  /** Drop what is in flight (the connection is gone). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.q = [];
    for (const w of this.waiters.splice(0)) w();
  }

  private arm(): void {
    const head = this.q[0];
    if (!head) {
      for (const w of this.waiters.splice(0)) w();
      return;
    }
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        const now = this.now();
        while (this.q.length && this.q[0]!.at <= now) {
          const m = this.q.shift()!;
          m.fn(m.at);
        }
        this.arm();
      },
      Math.max(0, head.at - this.now()),
    );
  }
}
