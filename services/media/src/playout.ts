import type { AudioChunkHeaders } from "@voicecall/contracts";
import { clearMessage, markMessage, mediaMessage } from "./twilio-codec";

/**
 * Outbound audio of one stream. Utterances play in the order their first chunk arrived. Audio is sent in
 * pieces of `chunkMs`, each followed by a mark `<utteranceId>:<n>`; new pieces go out only while less than
 * `leadMs` is unconfirmed, so the echoed marks pace the sending (self-clocking, no timers) and always say
 * exactly what the caller has heard. After a `clear`, every utterance rewinds to its last echoed mark.
 */

const BYTES_PER_MS = 8;

export interface Utterance {
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
  playedBytes: number;
  finalMarkSent: boolean;
  /** When its first piece went out (clock ms). */
  firstSentAt?: number;
  /** `onFirstSent` was called for it. */
  firstSentReported?: boolean;
}

interface PendingMark {
  u: Utterance;
  endByte: number;
  bytes: number;
  final: boolean;
}

export interface PlayoutOptions {
  streamSid: string;
  send: (text: string) => void;
  chunkMs: number;
  leadMs: number;
  /** The utterance's last mark came back: all of it was played. */
  onDone: (u: Utterance) => void;
  /** The first audio of an utterance went to Twilio (once per utterance, not again after a rewind). */
  onFirstSent?: (u: Utterance) => void;
  /** Clock in ms (default `performance.now`). */
  now?: () => number;
}

export const msOf = (bytes: number): number => bytes / BYTES_PER_MS;

export class Playout {
  private queue: Utterance[] = [];
  private readonly pending = new Map<string, PendingMark>();
  private inFlight = 0;
  private markSeq = 0;
  private lastEchoAt = -Infinity;
  private readonly now: () => number;
  private held = false;
  private minGeneration = 0;
  private readonly chunkBytes: number;
  private readonly leadBytes: number;

  constructor(private readonly o: PlayoutOptions) {
    this.chunkBytes = Math.max(1, Math.round(o.chunkMs * BYTES_PER_MS));
    this.leadBytes = Math.max(this.chunkBytes, Math.round(o.leadMs * BYTES_PER_MS));
    this.now = o.now ?? (() => performance.now());
  }

  /** Audio is queued or unconfirmed and playout is not paused. */
  get speaking(): boolean {
    return !this.held && this.queue.length > 0;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Newest generation the playout has seen or been told about (for our own utterances, e.g. digits). */
  get generation(): number {
    return this.queue.reduce((g, u) => Math.max(g, u.generation), this.minGeneration);
  }

  current(): Utterance | undefined {
    return this.queue[0];
  }

  utterances(): readonly Utterance[] {
    return this.queue;
  }

  /** One chunk from tts. Chunks of generations below the newest cancel are dropped. */
  push(h: Pick<AudioChunkHeaders, "utteranceId" | "seq" | "last" | "generation" | "purpose" | "text">, payload: Uint8Array): void {
    if (h.generation < this.minGeneration) return;
    let u = this.queue.find((x) => x.id === h.utteranceId);
    if (!u) {
      // A chunk of an utterance we already finished (or dropped) is stale.
      if (h.seq > 0 && this.finished.has(h.utteranceId)) return;
      u = { id: h.utteranceId, generation: h.generation, purpose: h.purpose, text: h.text, data: new Uint8Array(8000), totalBytes: 0, nextSeq: h.seq, early: new Map(), complete: false, sentBytes: 0, playedBytes: 0, finalMarkSent: false };
      this.queue.push(u);
    }
    if (u.complete || h.seq < u.nextSeq) return;
    u.early.set(h.seq, { payload, last: h.last });
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
    this.pump();
  }

  /** A whole utterance we made ourselves (DTMF tones). */
  pushWhole(id: string, audio: Uint8Array, purpose = "operator"): void {
    this.push({ utteranceId: id, seq: 0, last: true, generation: this.generation, purpose: purpose as AudioChunkHeaders["purpose"] }, audio);
  }

  /** An echoed mark. Returns the utterance it finished, if any. */
  onMark(name: string): Utterance | undefined {
    const m = this.pending.get(name);
    if (!m) return undefined;
    this.pending.delete(name);
    this.lastEchoAt = this.now();
    this.inFlight -= m.bytes;
    m.u.playedBytes = Math.max(m.u.playedBytes, m.endByte);
    let done: Utterance | undefined;
    if (m.final) {
      done = m.u;
      this.remove(m.u);
      this.o.onDone(m.u);
    }
    this.pump();
    return done;
  }

  /** Barge-in: stop at once, remember where. Returns the interrupted utterance, if audio was playing. */
  pause(): { u: Utterance; playedMs: number; totalMs: number } | undefined {
    this.held = true;
    const u = this.queue[0];
    if (!u || u.sentBytes === 0) return undefined;
    u.playedBytes = this.estimatePlayed(u);
    this.flush();
    return { u, playedMs: msOf(u.playedBytes), totalMs: msOf(u.totalBytes) };
  }

  /**
   * Where the caller's playhead is now. Marks say what was played up to the last echo; the caller's
   * player keeps going in real time after it, so add the time since then, capped at one piece (the
   * next echo is due by then) and at what was sent. This halves the error against a real-time player
   * whose echoes arrive in 20 ms ticks: within one frame instead of up to two.
   */
  private estimatePlayed(u: Utterance): number {
    const unconfirmed = u.sentBytes - u.playedBytes;
    if (unconfirmed <= 0 || u.firstSentAt === undefined) return u.playedBytes;
    const since = this.now() - Math.max(this.lastEchoAt, u.firstSentAt);
    const extra = Math.max(0, Math.min(this.chunkBytes, unconfirmed, Math.floor(since * BYTES_PER_MS)));
    return u.playedBytes + extra;
  }

  /** Play on from where each utterance stopped. */
  resume(): Utterance | undefined {
    this.held = false;
    this.pump();
    return this.queue[0];
  }

  /** Drop queued audio of generations below `beforeGeneration`, now and when late chunks arrive. */
  cancel(beforeGeneration: number): Utterance[] {
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
  clear(): Utterance[] {
    const dropped = [...this.queue];
    for (const u of dropped) this.remove(u);
    this.flush();
    return dropped;
  }

  private readonly finished = new Set<string>();

  private remove(u: Utterance): void {
    this.queue = this.queue.filter((x) => x !== u);
    this.finished.add(u.id);
    if (this.finished.size > 500) this.finished.delete(this.finished.values().next().value!);
  }

  /** Send `clear`; pending marks are void; every utterance rewinds to what was played. */
  private flush(): void {
    this.o.send(clearMessage(this.o.streamSid));
    this.pending.clear();
    this.inFlight = 0;
    for (const u of this.queue) {
      u.sentBytes = u.playedBytes;
      u.finalMarkSent = false;
      u.firstSentAt = undefined;
    }
  }

  private pump(): void {
    if (this.held) return;
    for (const u of this.queue) {
      while (this.inFlight < this.leadBytes && u.sentBytes < u.totalBytes) {
        const avail = u.totalBytes - u.sentBytes;
        // Mid-stream, wait for a whole piece; the tail of a complete utterance goes as it is.
        if (avail < this.chunkBytes && !u.complete) return;
        const n = Math.min(this.chunkBytes, avail);
        const piece = u.data.subarray(u.sentBytes, u.sentBytes + n);
        u.sentBytes += n;
        const final = u.complete && u.sentBytes === u.totalBytes;
        this.sendPiece(u, piece, final);
      }
      if (u.complete && u.sentBytes === u.totalBytes && !u.finalMarkSent) this.sendPiece(u, new Uint8Array(0), true);
      if (!u.complete || u.sentBytes < u.totalBytes) return;
    }
  }

  private sendPiece(u: Utterance, piece: Uint8Array, final: boolean): void {
    const name = `${u.id}:${this.markSeq++}`;
    if (piece.length > 0) this.o.send(mediaMessage(this.o.streamSid, piece));
    if (u.firstSentAt === undefined && piece.length > 0) {
      u.firstSentAt = this.now();
      if (!u.firstSentReported) {
        u.firstSentReported = true;
        this.o.onFirstSent?.(u);
      }
    }
    this.o.send(markMessage(this.o.streamSid, name));
    this.pending.set(name, { u, endByte: u.sentBytes, bytes: piece.length, final });
    this.inFlight += piece.length;
    if (final) u.finalMarkSent = true;
  }
}

function append(u: Utterance, p: Uint8Array): void {
  if (u.totalBytes + p.length > u.data.length) {
    const next = new Uint8Array(Math.max(u.data.length * 2, u.totalBytes + p.length));
    next.set(u.data.subarray(0, u.totalBytes));
    u.data = next;
  }
  u.data.set(p, u.totalBytes);
  u.totalBytes += p.length;
}
