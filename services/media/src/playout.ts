import type { AudioChunkHeaders } from "@voicecall/contracts";
import { clearMessage, markMessage, mediaMessage } from "./twilio-codec";
import { PlayheadEstimate } from "./playhead";

/**
 * Outbound audio of one stream, paced by a wall clock. Twilio buffers what it receives and plays it at
 * 8000 B/s, so audio goes out whenever less than `leadMs` is ahead of the send clock (where the caller's
 * playhead would be if the network took no time), at least `chunkMs` at a time. Echoed marks never pace the sending:
 * a round trip of any length costs no gap, only jitter larger than the lead does. Marks go every `markMs`
 * (and at each utterance's start and end) only to learn what was played; `PlayheadEstimate` turns them into
 * the caller's position for barge-in. Utterances play in the order their first chunk arrived. After a
 * `clear`, every utterance rewinds to what the caller heard.
 */

const BYTES_PER_MS = 8;
/** How long a chunk missing from the middle of an utterance is waited for before playing on without it. */
export const GAP_WAIT_MS = 300;

export interface UtteranceAudio {
  id: string;
  generation: number;
  purpose: string;
  text?: string;
  data: Uint8Array;
  totalBytes: number;
  nextSeq: number;
  /** Chunks that came early (seq ahead of nextSeq). */
  early: Map<number, { payload: Uint8Array; last: boolean }>;
  complete: boolean;
  sentBytes: number;
  /** What the caller heard: confirmed by marks, or estimated at a barge-in. */
  playedBytes: number;
  finalMarkSent: boolean;
  /** Where this utterance's audio begins in the stream since the last `clear`, and at which of its bytes. */
  streamBase?: number;
  baseByte: number;
  lastMarkByte: number;
  /** `onFirstSent` was called for it. */
  firstSentReported?: boolean;
  /** Came through `pushSpoken` (tts's in-order stream). */
  spoken?: boolean;
}

interface PendingMark {
  u: UtteranceAudio;
  endByte: number;
  /** Stream byte position the mark stands at. */
  pos: number;
  /** When the send clock reached it (ms): its echo comes one round trip (and any stall) later. */
  dueAt: number;
  final: boolean;
}

export interface PlayoutOptions {
  streamSid: string;
  send: (text: string) => void;
  chunkMs: number;
  leadMs: number;
  /** A mark every this much audio (besides each utterance's start and end). */
  markMs: number;
  /** The utterance's last mark came back: all of it was played. */
  onDone: (u: UtteranceAudio) => void;
  /** Chunks of `u` were lost on the way (`missing`: how many, at least): played on without them. */
  onLost?: (u: UtteranceAudio, missing: number) => void;
  /** The first audio of an utterance went to Twilio (once per utterance, not again after a rewind). */
  onFirstSent?: (u: UtteranceAudio) => void;
  /** An echo corrected the playhead estimate by this much (ms; positive: the estimate was ahead). */
  onEstimateError?: (errMs: number) => void;
  /** Clock in ms (default `performance.now`). */
  now?: () => number;
  /** Run `fn` in `ms`; returns a cancel (default `setTimeout`). */
  schedule?: (fn: () => void, ms: number) => () => void;
}

export interface Cut {
  u: UtteranceAudio;
  playedMs: number;
  totalMs: number;
  /** How far off the playhead estimate has recently been (ms): the largest of the newest corrections. */
  errMs: number;
}

export const msOf = (bytes: number): number => bytes / BYTES_PER_MS;

const defaultSchedule = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class Playout {
  private queue: UtteranceAudio[] = [];
  private readonly pending = new Map<string, PendingMark>();
  private markSeq = 0;
  private readonly now: () => number;
  private readonly schedule: NonNullable<PlayoutOptions["schedule"]>;
  private held = false;
  private closed = false;
  private minGeneration = 0;
  private readonly chunkBytes: number;
  private readonly leadBytes: number;
  private readonly markBytes: number;
  /** Bytes in Twilio's buffer's stream since the last `clear`. */
  private sent = 0;
  /** The send clock: the playhead of a player with no network delay, at stream byte `pos` at time `t`. */
  private clock = { t: 0, pos: 0 };
  private readonly playhead = new PlayheadEstimate(BYTES_PER_MS);
  private cancelWake?: () => void;
  private cancelGap?: () => void;

  constructor(private readonly o: PlayoutOptions) {
    this.chunkBytes = Math.max(1, Math.round(o.chunkMs * BYTES_PER_MS));
    this.leadBytes = Math.max(this.chunkBytes, Math.round(o.leadMs * BYTES_PER_MS));
    this.markBytes = Math.max(this.chunkBytes, Math.round(o.markMs * BYTES_PER_MS));
    this.now = o.now ?? (() => performance.now());
    this.schedule = o.schedule ?? defaultSchedule;
  }

  /** Audio is queued or unconfirmed and playout is not paused. */
  get speaking(): boolean {
    return !this.held && this.queue.length > 0;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Round trip to the caller's player as the marks measured it (ms). */
  get rttMs(): number {
    return this.playhead.rttMs;
  }

  /** Newest generation the playout has seen or been told about (for our own utterances, e.g. digits). */
  get generation(): number {
    return this.queue.reduce((g, u) => Math.max(g, u.generation), this.minGeneration);
  }

  current(): UtteranceAudio | undefined {
    return this.queue[0];
  }

  utterances(): readonly UtteranceAudio[] {
    return this.queue;
  }

  /** One chunk from tts. Chunks of generations below the newest cancel are dropped. */
  push(
    h: Pick<AudioChunkHeaders, "utteranceId" | "seq" | "last" | "generation" | "purpose" | "text">,
    payload: Uint8Array,
  ): void {
    this.add(h, payload, false);
  }

  /**
   * A chunk from tts, which publishes a call's utterances one after another: a chunk of a newer
   * utterance means the ones before it were sent whole, so what is still missing of them was lost
   * (core NATS is at-most-once, and keeps one publisher's order): they end with what they have.
   */
  pushSpoken(
    h: Pick<AudioChunkHeaders, "utteranceId" | "seq" | "last" | "generation" | "purpose" | "text">,
    payload: Uint8Array,
  ): void {
    this.add(h, payload, true);
  }

  private add(
    h: Pick<AudioChunkHeaders, "utteranceId" | "seq" | "last" | "generation" | "purpose" | "text">,
    payload: Uint8Array,
    inOrder: boolean,
  ): void {
    if (h.generation < this.minGeneration) return;
    let u = this.queue.find((x) => x.id === h.utteranceId);
    if (!u) {
      // A chunk of an utterance we already finished (or dropped) is stale.
      if (h.seq > 0 && this.finished.has(h.utteranceId)) return;
      if (inOrder) for (const before of this.queue) if (before.spoken && !before.complete) this.lostTail(before);
      u = {
        id: h.utteranceId,
        generation: h.generation,
        purpose: h.purpose,
        text: h.text,
        data: new Uint8Array(8000),
        totalBytes: 0,
        nextSeq: h.seq,
        early: new Map(),
        complete: false,
        sentBytes: 0,
        playedBytes: 0,
        finalMarkSent: false,
        baseByte: 0,
        lastMarkByte: 0,
        spoken: inOrder,
      };
      this.queue.push(u);
    }
    if (u.complete || h.seq < u.nextSeq) return;
    u.early.set(h.seq, { payload, last: h.last });
    drain(u);
    // A gap: wait a little for the missing chunks, then play on without them.
    if (u.early.size > 0 && !this.cancelGap) this.cancelGap = this.schedule(() => this.skipGaps(), GAP_WAIT_MS);
    this.pump();
  }

  /** Chunks still missing after `GAP_WAIT_MS` were lost: play what came after them. */
  private skipGaps(): void {
    this.cancelGap = undefined;
    for (const u of this.queue) {
      if (u.complete || u.early.size === 0) continue;
      const missing = Math.min(...u.early.keys()) - u.nextSeq;
      u.nextSeq += missing;
      this.o.onLost?.(u, missing);
      drain(u);
    }
    this.pump();
  }

  /** The rest of `u` will not come: it ends with what it has (early chunks included, in order). */
  private lostTail(u: UtteranceAudio): void {
    let missing = 0;
    for (const seq of [...u.early.keys()].sort((a, b) => a - b)) {
      missing += seq - u.nextSeq;
      u.nextSeq = seq;
      drain(u);
    }
    u.complete = true;
    u.early.clear();
    this.o.onLost?.(u, missing + 1);
  }

  /** A whole utterance we made ourselves (DTMF tones). */
  pushWhole(id: string, audio: Uint8Array, purpose = "operator"): void {
    this.push(
      {
        utteranceId: id,
        seq: 0,
        last: true,
        generation: this.generation,
        purpose: purpose as AudioChunkHeaders["purpose"],
      },
      audio,
    );
  }

  /** An echoed mark. Returns the utterance it finished, if any. */
  onMark(name: string): UtteranceAudio | undefined {
    const m = this.pending.get(name);
    if (!m) return undefined;
    this.pending.delete(name);
    const err = this.playhead.echo(this.now(), m.pos, m.dueAt, this.sent);
    this.o.onEstimateError?.(err);
    m.u.playedBytes = Math.max(m.u.playedBytes, m.endByte);
    let done: UtteranceAudio | undefined;
    if (m.final) {
      done = m.u;
      this.remove(m.u);
      this.o.onDone(m.u);
    }
    this.pump();
    return done;
  }

  /**
   * Barge-in: stop at once and work out what the caller heard. The `clear` reaches Twilio half a round
   * trip from now and the caller's player plays on until then, so the playhead is estimated for that time.
   * Returns the utterance under the playhead, if audio was out.
   */
  pause(): Cut | undefined {
    this.held = true;
    this.stopWake();
    if (this.sent === 0 || !this.queue[0]) return undefined;
    const now = this.now();
    const pos = this.playhead.at(now + this.playhead.rttMs / 2, this.sent);
    let cut: UtteranceAudio | undefined;
    for (const u of this.queue) {
      if (u.streamBase === undefined) continue;
      const played = u.baseByte + Math.max(0, Math.min(u.sentBytes - u.baseByte, pos - u.streamBase));
      u.playedBytes = Math.max(u.playedBytes, played);
      if (!cut && (u.playedBytes < u.totalBytes || !u.complete)) cut = u;
    }
    cut ??= [...this.queue].reverse().find((u) => u.streamBase !== undefined) ?? this.queue[0]!;
    this.flush();
    return { u: cut, playedMs: msOf(cut.playedBytes), totalMs: msOf(cut.totalBytes), errMs: this.playhead.recentErrMs };
  }

  /** Play on from where each utterance stopped. */
  resume(): UtteranceAudio | undefined {
    this.held = false;
    this.pump();
    return this.queue[0];
  }

  /** Drop queued audio of generations below `beforeGeneration`, now and when late chunks arrive. */
  cancel(beforeGeneration: number): UtteranceAudio[] {
    this.minGeneration = Math.max(this.minGeneration, beforeGeneration);
    const dropped = this.queue.filter((u) => u.generation < beforeGeneration);
    if (dropped.length === 0) return [];
    const audible = dropped.some((u) => u.sentBytes > u.playedBytes);
    for (const u of dropped) this.remove(u);
    if (audible) this.flush();
    this.pump();
    return dropped;
  }

  /** Drop everything queued and empty Twilio's buffer. */
  clear(): UtteranceAudio[] {
    const dropped = [...this.queue];
    for (const u of dropped) this.remove(u);
    this.flush();
    return dropped;
  }

  /** The stream is over: no more timers. */
  close(): void {
    this.closed = true;
    this.stopWake();
    this.cancelGap?.();
  }

  private readonly finished = new Set<string>();

  private remove(u: UtteranceAudio): void {
    this.queue = this.queue.filter((x) => x !== u);
    this.finished.add(u.id);
    if (this.finished.size > 500) this.finished.delete(this.finished.values().next().value!);
  }

  /** Send `clear`; pending marks are void; every utterance rewinds to what was played. */
  private flush(): void {
    this.o.send(clearMessage(this.o.streamSid));
    this.stopWake();
    this.pending.clear();
    this.sent = 0;
    this.clock = { t: this.now(), pos: 0 };
    this.playhead.reset(this.now(), 0);
    for (const u of this.queue) {
      u.sentBytes = u.playedBytes;
      u.finalMarkSent = false;
      u.streamBase = undefined;
      u.lastMarkByte = u.playedBytes;
    }
  }

  /** Send-clock playhead now: where a player with no network delay would be. */
  private clockPos(now: number): number {
    return Math.min(this.sent, this.clock.pos + Math.max(0, now - this.clock.t) * BYTES_PER_MS);
  }

  private pump(): void {
    if (this.held || this.closed) return;
    this.stopWake();
    const now = this.now();
    for (const u of this.queue) {
      while (u.sentBytes < u.totalBytes) {
        const ahead = this.sent - this.clockPos(now);
        if (ahead >= this.leadBytes) return this.wakeIn((ahead - this.leadBytes + this.chunkBytes) / BYTES_PER_MS);
        const avail = u.totalBytes - u.sentBytes;
        // Mid-stream, wait for a whole piece; the tail of a complete utterance goes as it is.
        if (avail < this.chunkBytes && !u.complete) return;
        // What is due goes in as few messages as the marks allow: a first burst cut into 20 ms pieces
        // would start the caller's player on its first piece and stall it on a late second one.
        const room = Math.max(this.chunkBytes, this.leadBytes - ahead);
        const n = Math.min(avail, room, this.markBytes - (u.sentBytes - u.lastMarkByte));
        this.sendPiece(u, u.data.subarray(u.sentBytes, u.sentBytes + n), now);
      }
      if (u.complete && !u.finalMarkSent) this.sendMark(u, true, now);
      if (!u.complete) return;
    }
  }

  private sendPiece(u: UtteranceAudio, piece: Uint8Array, now: number): void {
    if (this.clockPos(now) >= this.sent) {
      // Twilio's buffer has run out (or never had audio): playback starts again as this piece arrives.
      this.clock = { t: now, pos: this.sent };
      this.playhead.restart(now, this.sent);
    }
    if (u.streamBase === undefined) {
      u.streamBase = this.sent;
      u.baseByte = u.sentBytes;
      // Its echo says when the caller began to hear it (and, on an empty buffer, is a bare round trip).
      this.sendMark(u, false, now);
    }
    this.o.send(mediaMessage(this.o.streamSid, piece));
    u.sentBytes += piece.length;
    this.sent += piece.length;
    if (!u.firstSentReported) {
      u.firstSentReported = true;
      this.o.onFirstSent?.(u);
    }
    const final = u.complete && u.sentBytes === u.totalBytes;
    if (final) this.sendMark(u, true, now);
    else if (u.sentBytes - u.lastMarkByte >= this.markBytes) this.sendMark(u, false, now);
  }

  private sendMark(u: UtteranceAudio, final: boolean, now: number): void {
    const name = `${u.id}:${this.markSeq++}`;
    this.o.send(markMessage(this.o.streamSid, name));
    const dueAt = this.clockPos(now) >= this.sent ? now : this.clock.t + (this.sent - this.clock.pos) / BYTES_PER_MS;
    this.pending.set(name, { u, endByte: u.sentBytes, pos: this.sent, dueAt, final });
    u.lastMarkByte = u.sentBytes;
    if (final) u.finalMarkSent = true;
  }

  private wakeIn(ms: number): void {
    this.cancelWake = this.schedule(
      () => {
        this.cancelWake = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil(ms)),
    );
  }

  private stopWake(): void {
    this.cancelWake?.();
    this.cancelWake = undefined;
  }
}

/** Move the chunks that follow on from `nextSeq` into the utterance's audio. */
function drain(u: UtteranceAudio): void {
  for (let c = u.early.get(u.nextSeq); c; c = u.early.get(u.nextSeq)) {
    u.early.delete(u.nextSeq);
    append(u, c.payload);
    u.nextSeq++;
    if (c.last) {
      u.complete = true;
      u.early.clear();
      break;
    }
  }
}

function append(u: UtteranceAudio, p: Uint8Array): void {
  if (u.totalBytes + p.length > u.data.length) {
    const next = new Uint8Array(Math.max(u.data.length * 2, u.totalBytes + p.length));
    next.set(u.data.subarray(0, u.totalBytes));
    u.data = next;
  }
  u.data.set(p, u.totalBytes);
  u.totalBytes += p.length;
}
