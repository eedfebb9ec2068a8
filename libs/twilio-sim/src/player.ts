import type { HeardRecorder, MarkRecord } from "./heard-recorder";

/** Outbound audio cap: "More than 10 minutes of audio is buffered … No more data is accepted" (31931). */
const MAX_QUEUED_MS = 10 * 60 * 1000;

type Item =
  { kind: "audio"; start: number; data: Uint8Array; off: number } | { kind: "mark"; at: number; rec: MarkRecord };

export interface PlayerOptions {
  recorder: HeardRecorder;
  streamSid: string;
  /** The player's clock (epoch ms, fractional). */
  now: () => number;
  /** Playback reached a mark (or a clear flushed it) at `at`: send its echo. */
  echo: (rec: MarkRecord, at: number) => void;
  warn: (code: number, message: string) => void;
}

/**
 * Twilio's outbound buffer and player on its own playback clock. Audio that arrives at `at` plays from
 * `max(at, end of what is queued)` at 8000 B/s; marks stand at the end of what was queued before them and are
 * echoed when playback gets there (at once on an empty buffer); `clear` drops what has not played by its
 * arrival and echoes the pending marks. Times are when things arrive, not when this code runs, so the
 * simulator's own event-loop lag neither stalls the player nor delays its echoes beyond the network's.
 * Twilio's docs (twilio-wire.md §1): outbound media "are buffered and played in the order received. The
 * audio can be of any size"; a mark comes back "when the audio ends (or if there is no audio buffered)";
 * `clear` "empties all buffered audio and causes any mark messages to be sent back" [DOC websocket-messages].
 * Undocumented, and taken the less forgiving way: no jitter buffer before playback starts (an underrun is
 * silence at once), and a mark that arrives on an empty buffer is echoed at once even if audio is in flight.
 */
export class Player {
  private items: Item[] = [];
  private playEnd = 0;
  private markTimer?: NodeJS.Timeout;

  constructor(private readonly o: PlayerOptions) {}

  /** Outbound audio not yet played, in ms. */
  queuedMs(now = this.o.now()): number {
    return Math.max(0, this.playEnd - now);
  }

  audio(bytes: Uint8Array, at: number): void {
    if (!bytes.length) return;
    if (this.queuedMs(at) + bytes.length / 8 > MAX_QUEUED_MS)
      return this.o.warn(31931, "Media Discarded: more than 10 minutes of audio buffered");
    const start = Math.max(at, this.playEnd);
    this.items.push({ kind: "audio", start, data: bytes, off: 0 });
    this.playEnd = start + bytes.length / 8;
  }

  mark(name: string, at: number): void {
    const t0 = this.o.recorder.t0;
    const rec: MarkRecord = {
      name,
      streamSid: this.o.streamSid,
      receivedAtMs: at - t0,
      cleared: false,
      queuedAheadMs: Math.round(this.queuedMs(at)),
    };
    this.o.recorder.marks.push(rec);
    // "when the audio ends (or if there is no audio buffered)"
    if (this.playEnd <= at) {
      this.advance(at);
      return this.reached(rec, at);
    }
    this.items.push({ kind: "mark", at: this.playEnd, rec });
    if (!this.markTimer) this.armMarks();
  }

  clear(at: number): void {
    this.advance(at);
    let droppedBytes = 0;
    const marks: MarkRecord[] = [];
    for (const i of this.items) {
      if (i.kind === "audio") droppedBytes += i.data.length - i.off;
      else marks.push(i.rec);
    }
    this.items = [];
    this.playEnd = at;
    this.stopTimer();
    const r = this.o.recorder;
    r.clears.push({
      atMs: at - r.t0,
      streamSid: this.o.streamSid,
      droppedMs: droppedBytes / 8,
      marksEchoed: marks.map((m) => m.name),
      heardMs: r.heardMs(),
    });
    for (const m of marks) {
      m.cleared = true;
      this.o.echo(m, at);
    }
  }

  /** Record everything played by `now` and echo the marks reached. */
  advance(now = this.o.now()): void {
    const r = this.o.recorder;
    while (this.items.length) {
      const head = this.items[0]!;
      if (head.kind === "mark") {
        if (head.at > now) break;
        this.items.shift();
        this.reached(head.rec, head.at);
        continue;
      }
      const pos = head.start + head.off / 8;
      const n = Math.min(head.data.length - head.off, Math.floor((now - pos) * 8 + 1e-6));
      if (n <= 0) break;
      r.played(pos - r.t0, head.data.subarray(head.off, head.off + n), this.o.streamSid);
      head.off += n;
      if (head.off < head.data.length) break;
      this.items.shift();
    }
  }

  /** Stop the mark timer (the stream is over). */
  stop(): void {
    this.stopTimer();
  }

  private reached(rec: MarkRecord, at: number): void {
    rec.playedAtMs = at - this.o.recorder.t0;
    rec.heardMs = this.o.recorder.heardMs();
    this.o.echo(rec, at);
  }

  /** A timer for the next mark, so echoes leave when playback reaches them, not on the next 20 ms tick. */
  private armMarks(): void {
    const next = this.items.find((i) => i.kind === "mark");
    if (!next) return;
    this.markTimer = setTimeout(
      () => {
        this.markTimer = undefined;
        this.advance();
        this.armMarks();
      },
      Math.max(0, next.at - this.o.now()),
    );
  }

  private stopTimer(): void {
    if (this.markTimer) clearTimeout(this.markTimer);
    this.markTimer = undefined;
  }
}
