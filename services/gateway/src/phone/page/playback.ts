import { decodeSample } from "./mulaw";

/**
 * Plays agent audio like Twilio's buffer does: in order, marks echoed only once the audio queued
 * before them has played, `clear` stops everything and echoes the pending marks at once.
 */
export class Playback {
  private playhead = 0;
  private sources: AudioBufferSourceNode[] = [];
  private marks: { name: string; at: number }[] = [];
  private timer: number;
  /** Seconds of agent audio played so far (for the page's display). */
  heardSeconds = 0;

  constructor(
    private readonly ctx: AudioContext,
    private readonly onMark: (name: string) => void,
  ) {
    this.timer = window.setInterval(() => this.flushMarks(), 10);
  }

  /** Queue audio after what is queued; answers how many seconds from now it starts playing. */
  enqueue(mu: Uint8Array): number {
    const buf = this.ctx.createBuffer(1, mu.length, 8000);
    const ch = buf.getChannelData(0);
    for (let i = 0; i < mu.length; i++) ch[i] = decodeSample(mu[i]!) / 32768;
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(this.ctx.destination);
    const start = Math.max(this.ctx.currentTime + 0.02, this.playhead);
    src.start(start);
    this.playhead = start + buf.duration;
    this.heardSeconds += buf.duration;
    this.sources.push(src);
    src.onended = () => (this.sources = this.sources.filter((s) => s !== src));
    return start - this.ctx.currentTime;
  }

  mark(name: string): void {
    this.marks.push({ name, at: this.playhead });
    this.flushMarks();
  }

  clear(): void {
    for (const s of this.sources) s.stop();
    this.sources = [];
    this.playhead = 0;
    const pending = this.marks;
    this.marks = [];
    for (const m of pending) this.onMark(m.name);
  }

  /** Agent audio scheduled and not yet played (ms): media keeps its lead (PLAYOUT_LEAD_MS) here, as Twilio buffers it. */
  get bufferedMs(): number {
    return Math.max(0, this.playhead - this.ctx.currentTime) * 1000;
  }

  /** True while agent audio is still queued. */
  get playing(): boolean {
    return this.playhead > this.ctx.currentTime;
  }

  close(): void {
    window.clearInterval(this.timer);
    for (const s of this.sources) s.stop();
  }

  private flushMarks(): void {
    const now = this.ctx.currentTime;
    while (this.marks.length && this.marks[0]!.at <= now) this.onMark(this.marks.shift()!.name);
  }
}
