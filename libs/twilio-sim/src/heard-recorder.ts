import { concat, mulawDecode, writeWav, MULAW_SILENCE } from "@voicecall/audio";

/** A contiguous run of audio the caller heard. Times are ms since the call was created. */
export interface HeardSegment {
  atMs: number;
  durationMs: number;
  streamSid?: string;
  /** `say`/`play` for Twilio-rendered verbs, `stream` for Media Streams audio. */
  source: "stream" | "say" | "play";
}

export interface MarkRecord {
  name: string;
  streamSid: string;
  /** When the app's mark message arrived. */
  receivedAtMs: number;
  /** When the simulator echoed it back. */
  echoedAtMs?: number;
  /** Echoed because of a `clear` (its audio was not played), not because playback reached it. */
  cleared: boolean;
  /** Outbound audio queued ahead of the mark when it arrived (ms). */
  queuedAheadMs: number;
  /** When playback reached it, on the player's clock (not for cleared marks). */
  playedAtMs?: number;
  /** Stream audio the caller had heard by then, all streams of the call (ms). */
  heardMs?: number;
}

export interface ClearRecord {
  atMs: number;
  streamSid: string;
  droppedMs: number;
  marksEchoed: string[];
  /** Stream audio the caller had heard when the clear arrived, all streams of the call (ms). */
  heardMs: number;
}

export interface Heard {
  /** Everything the caller heard from the stream, back to back (mu-law 8 kHz), gaps removed. */
  audio: Uint8Array;
  /** Total ms in `audio`. */
  ms: number;
  segments: HeardSegment[];
  marks: MarkRecord[];
  clears: ClearRecord[];
  /** `<Say>` texts Twilio would have spoken (and the application-error message on failures). */
  sayTexts: { atMs: number; text: string; source: "twiml" | "twilio-error" }[];
  plays: { atMs: number; url: string }[];
}

/** Collects what the caller heard during one call. */
export class HeardRecorder {
  private chunks: { atMs: number; bytes: Uint8Array; streamSid?: string }[] = [];
  readonly segments: HeardSegment[] = [];
  readonly marks: MarkRecord[] = [];
  readonly clears: ClearRecord[] = [];
  readonly sayTexts: Heard["sayTexts"] = [];
  readonly plays: Heard["plays"] = [];
  private total = 0;

  constructor(readonly t0: number) {}

  now(): number {
    return Date.now() - this.t0;
  }

  /** `bytes` started playing at `atMs`; merged into the last segment when contiguous. */
  played(atMs: number, bytes: Uint8Array, streamSid: string): void {
    if (!bytes.length) return;
    this.chunks.push({ atMs, bytes: bytes.slice(), streamSid });
    this.total += bytes.length;
    const dur = bytes.length / 8;
    const last = this.segments[this.segments.length - 1];
    if (last && last.streamSid === streamSid && last.source === "stream" && atMs - (last.atMs + last.durationMs) < 30)
      last.durationMs += dur;
    else this.segments.push({ atMs, durationMs: dur, streamSid, source: "stream" });
  }

  heardMs(): number {
    return this.total / 8;
  }

  snapshot(): Heard {
    return {
      audio: concat(this.chunks.map((c) => c.bytes)),
      ms: this.total / 8,
      segments: this.segments.map((s) => ({ ...s })),
      marks: this.marks.map((m) => ({ ...m })),
      clears: this.clears.map((c) => ({ ...c, marksEchoed: [...c.marksEchoed] })),
      sayTexts: [...this.sayTexts],
      plays: [...this.plays],
    };
  }

  /**
   * The heard audio as a 16-bit 8 kHz WAV. `timeline: true` places each chunk at its time since the
   * call started, with silence in the gaps; otherwise the chunks are back to back.
   */
  wav(timeline = false): Uint8Array {
    if (!timeline) return writeWav(mulawDecode(concat(this.chunks.map((c) => c.bytes))), 8000);
    const end = this.chunks.reduce((m, c) => Math.max(m, Math.round(c.atMs * 8) + c.bytes.length), 0);
    const mu = new Uint8Array(end).fill(MULAW_SILENCE);
    for (const c of this.chunks) mu.set(c.bytes, Math.round(c.atMs * 8));
    return writeWav(mulawDecode(mu), 8000);
  }
}
