/**
 * A Twilio media edge on a virtual clock, behind a virtual network: each direction delays messages by
 * `oneWayMs` ± `jitterMs` (uniform, seeded) and keeps their order, as TCP does. The player plays what it
 * received back to back at 8000 B/s, echoes a mark when the audio before it has played (at once on an
 * empty buffer), and on `clear` drops what is unplayed and echoes the pending marks. For pure tests of
 * the playout: everything runs inside `advance`.
 */
export class VirtualClock {
  t = 1000;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;
  now = (): number => this.t;
  schedule = (fn: () => void, ms: number): (() => void) => {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => (this.timers = this.timers.filter((x) => x !== timer));
  };
  /** Run every timer due within `ms`, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}

/** Mulberry32: a small seeded PRNG, so a jittery run is the same run every time. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

class DelayLine {
  private last = 0;
  constructor(
    private readonly clock: VirtualClock,
    private readonly oneWayMs: number,
    private readonly jitterMs: number,
    private readonly rand: () => number,
  ) {}
  send(fn: (at: number) => void): void {
    const at = Math.max(this.last, this.clock.t + Math.max(0, this.oneWayMs + (this.rand() * 2 - 1) * this.jitterMs));
    this.last = at;
    this.clock.schedule(() => fn(at), at - this.clock.t);
  }
}

interface Segment {
  start: number;
  bytes: number;
}

export class VirtualTwilio {
  private readonly out: DelayLine;
  private readonly back: DelayLine;
  /** What the caller heard: runs of audio on the player's clock. */
  readonly segments: Segment[] = [];
  private playEnd = 0;
  private marks: { name: string; at: number; cancel: () => void }[] = [];
  /** Stream bytes the caller had heard when each `clear` arrived. */
  readonly clears: number[] = [];
  /** Called with each echoed mark's name when it reaches the app. */
  onEcho: (name: string) => void = () => undefined;

  constructor(
    readonly clock: VirtualClock,
    o: { oneWayMs: number; jitterMs: number; seed?: number },
  ) {
    const rand = prng(o.seed ?? 1);
    this.out = new DelayLine(clock, o.oneWayMs, o.jitterMs, rand);
    this.back = new DelayLine(clock, o.oneWayMs, o.jitterMs, rand);
  }

  /** The app's `send`: a message leaves for Twilio now. */
  send = (text: string): void => {
    const m = JSON.parse(text) as { event: string; media?: { payload: string }; mark?: { name: string } };
    this.out.send((at) => this.receive(m, at));
  };

  /** Bytes the caller has heard by time `t`. */
  heardAt(t: number): number {
    return this.segments.reduce((n, s) => n + Math.max(0, Math.min(s.bytes, Math.floor((t - s.start) * 8))), 0);
  }

  /** Silences inside the heard audio (ms), between `from` and `to` (player clock). */
  gaps(from = -Infinity, to = Infinity): number[] {
    const out: number[] = [];
    for (let i = 1; i < this.segments.length; i++) {
      const prevEnd = this.segments[i - 1]!.start + this.segments[i - 1]!.bytes / 8;
      const gap = this.segments[i]!.start - prevEnd;
      if (gap > 0.001 && prevEnd >= from && this.segments[i]!.start <= to) out.push(gap);
    }
    return out;
  }

  private receive(m: { event: string; media?: { payload: string }; mark?: { name: string } }, at: number): void {
    if (m.event === "media") {
      const bytes = Buffer.from(m.media!.payload, "base64").length;
      const start = Math.max(at, this.playEnd);
      this.segments.push({ start, bytes });
      this.playEnd = start + bytes / 8;
    } else if (m.event === "mark") {
      const name = m.mark!.name;
      const when = Math.max(at, this.playEnd);
      const cancel = this.clock.schedule(() => this.echo(name), when - this.clock.t);
      this.marks.push({ name, at: when, cancel });
    } else if (m.event === "clear") {
      const heard = this.heardAt(at);
      this.clears.push(heard);
      // Keep only what played before the clear arrived.
      let left = heard;
      for (const s of this.segments) {
        s.bytes = Math.min(s.bytes, Math.max(0, left));
        left -= s.bytes;
      }
      for (let i = this.segments.length - 1; i >= 0; i--) if (this.segments[i]!.bytes === 0) this.segments.splice(i, 1);
      this.playEnd = at;
      const pending = this.marks.filter((x) => x.at > at);
      for (const p of pending) {
        p.cancel();
        this.echo(p.name);
      }
    }
  }

  private echo(name: string): void {
    this.marks = this.marks.filter((x) => x.name !== name);
    this.back.send(() => this.onEcho(name));
  }
}
