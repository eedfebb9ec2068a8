/**
 * Turns per-frame VAD decisions into utterances: pure, no timers, no I/O.
 * Speech starts after `onMs` of voiced frames (gaps up to `hangMs` do not restart the count) and
 * ends after `silenceMs` without a voiced frame, or when it reaches `maxMs`. Times are ms of stream
 * audio (frame index × 20). The utterance PCM runs from `prerollMs` before the first voiced frame
 * to `tailMs` after the last one, so the decoder sees a little silence around the words.
 */
export interface EndpointerOptions {
  onMs?: number;
  hangMs?: number;
  silenceMs?: number;
  maxMs?: number;
  prerollMs?: number;
  tailMs?: number;
  /** Samples per frame (160 = 20 ms at 8 kHz). */
  frameSamples?: number;
  sampleRate?: number;
  /**
   * Keep the utterance's PCM (default true). A streaming recogniser gets every frame as it comes and never
   * reads it: without it the endpointer holds no audio at all (no ring, no utterance buffer), and its
   * `speech.stopped` carries an empty `pcm`. Timing and events are the same either way.
   */
  keepPcm?: boolean;
}

export type EndpointEvent =
  | { type: "speech.started"; atMs: number }
  | { type: "speech.stopped"; atMs: number; durationMs: number; pcm: Int16Array };

const EMPTY = new Int16Array(0);

export class Endpointer {
  private readonly frameSamples: number;
  private readonly frameMs: number;
  private readonly onFrames: number;
  private readonly hangFrames: number;
  private readonly silenceFrames: number;
  private readonly maxFrames: number;
  private readonly tailFrames: number;
  /** Ring of recent frames kept while idle: preroll + onset run (empty without `keepPcm`). */
  private readonly ring: Int16Array;
  private readonly keepPcm: boolean;
  private readonly ringFrames: number;
  private frame = 0;
  private speaking = false;
  private voicedRun = 0;
  private gap = 0;
  private firstVoiced = -1;
  private lastVoiced = -1;
  /**
   * Growable utterance buffer: allocated when speech starts (4 s, doubled as needed) and let go when it
   * stops, so an idle stream holds only the ring, not 64 KB it is not using.
   */
  private utt: Int16Array = EMPTY;
  private readonly uttStartSamples: number;
  private uttLen = 0;
  private uttStartFrame = 0;
  /** First frame after the last utterance: the ring holds nothing older worth keeping. */
  private idleSince = 0;

  constructor(o: EndpointerOptions = {}) {
    this.frameSamples = o.frameSamples ?? 160;
    this.frameMs = (this.frameSamples * 1000) / (o.sampleRate ?? 8000);
    const f = (ms: number) => Math.max(1, Math.ceil(ms / this.frameMs));
    this.onFrames = f(o.onMs ?? 100);
    this.hangFrames = Math.floor((o.hangMs ?? 60) / this.frameMs);
    this.silenceFrames = f(o.silenceMs ?? 600);
    this.maxFrames = f(o.maxMs ?? 30_000);
    this.tailFrames = Math.floor((o.tailMs ?? 200) / this.frameMs);
    const prerollFrames = Math.floor((o.prerollMs ?? 200) / this.frameMs);
    // Enough history for the preroll plus the whole onset run including tolerated gaps.
    this.ringFrames = prerollFrames + this.onFrames * (this.hangFrames + 1) + 1;
    this.keepPcm = o.keepPcm ?? true;
    this.ring = this.keepPcm ? new Int16Array(this.ringFrames * this.frameSamples) : EMPTY;
    this.prerollFrames = prerollFrames;
    this.uttStartSamples = this.frameSamples * 50 * 4;
  }
  private readonly prerollFrames: number;

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** The running utterance's PCM so far (a copy), or undefined when idle: for a provisional decode. */
  current(): Int16Array | undefined {
    if (!this.speaking) return undefined;
    return this.keepPcm ? this.utt.slice(0, this.uttLen) : EMPTY;
  }

  /** Stream time (ms) at the end of the frames pushed so far. */
  get nowMs(): number {
    return this.frame * this.frameMs;
  }

  /** One frame and its VAD decision. Returns an event when speech starts or stops, else undefined. */
  push(voiced: boolean, pcm: Int16Array): EndpointEvent | undefined {
    const idx = this.frame++;
    if (!this.speaking) {
      if (this.keepPcm) this.ring.set(pcm.subarray(0, this.frameSamples), (idx % this.ringFrames) * this.frameSamples);
      if (voiced) {
        if (this.voicedRun === 0) this.firstVoiced = idx;
        this.voicedRun++;
        this.gap = 0;
        if (this.voicedRun >= this.onFrames) return this.start(idx);
      } else if (this.voicedRun > 0 && ++this.gap > this.hangFrames) {
        this.voicedRun = 0;
        this.gap = 0;
      }
      return undefined;
    }
    if (this.keepPcm) this.append(pcm);
    if (voiced) this.lastVoiced = idx;
    const silent = idx - this.lastVoiced;
    if (silent >= this.silenceFrames || idx + 1 - this.uttStartFrame >= this.maxFrames) return this.stop();
    return undefined;
  }

  /** Ends a running utterance now (stream closing); returns its event, or undefined when idle. */
  flush(): EndpointEvent | undefined {
    return this.speaking ? this.stop() : undefined;
  }

  private start(idx: number): EndpointEvent {
    this.speaking = true;
    this.lastVoiced = idx;
    const from = Math.max(this.idleSince, this.firstVoiced - this.prerollFrames, idx - this.ringFrames + 1);
    this.uttStartFrame = from;
    this.uttLen = 0;
    if (!this.keepPcm) return { type: "speech.started", atMs: this.firstVoiced * this.frameMs };
    this.utt = new Int16Array(this.uttStartSamples);
    for (let i = from; i <= idx; i++) {
      const off = (i % this.ringFrames) * this.frameSamples;
      this.append(this.ring.subarray(off, off + this.frameSamples));
    }
    return { type: "speech.started", atMs: this.firstVoiced * this.frameMs };
  }

  private stop(): EndpointEvent {
    const startMs = this.firstVoiced * this.frameMs;
    const endMs = (this.lastVoiced + 1) * this.frameMs;
    const keepFrames = Math.min(this.frame, this.lastVoiced + 1 + this.tailFrames) - this.uttStartFrame;
    const pcm = this.keepPcm ? this.utt.slice(0, Math.min(this.uttLen, keepFrames * this.frameSamples)) : EMPTY;
    this.speaking = false;
    this.idleSince = this.frame;
    this.voicedRun = 0;
    this.gap = 0;
    this.uttLen = 0;
    this.utt = EMPTY;
    return { type: "speech.stopped", atMs: endMs, durationMs: endMs - startMs, pcm };
  }

  private append(pcm: Int16Array): void {
    const n = this.frameSamples;
    if (this.uttLen + n > this.utt.length) {
      const bigger = new Int16Array(Math.max(this.utt.length * 2, this.uttLen + n));
      bigger.set(this.utt.subarray(0, this.uttLen));
      this.utt = bigger;
    }
    this.utt.set(pcm.subarray(0, n), this.uttLen);
    this.uttLen += n;
  }
}
