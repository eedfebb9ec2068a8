import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { twilioSignature } from "@voicecall/auth";
import { FRAME_BYTES, MULAW_SILENCE, mulawEncode } from "@voicecall/audio";
import { StreamFrames } from "@voicecall/twilio-sim";

/**
 * A compact Twilio Media Streams client for tests: signed upgrade, `connected` + `start`, one inbound
 * frame per 20 ms tick (silence unless the caller "says" something), outbound playout at 8000 B/s of
 * wall time (a late tick plays what the clock says was due, as a real-time player would) with marks echoed
 * when playback reaches them, and `clear` flushing the queue and echoing pending marks, as Twilio does.
 */
export interface TwilioStreamOptions {
  url: string;
  ca?: Buffer;
  /** Sign the upgrade with this auth token over `signUrl` (default: `url`); omit to send no signature. */
  authToken?: string;
  signUrl?: string;
  callSid?: string;
  streamSid?: string;
  customParameters?: Record<string, string>;
  /** Send `connected` + `start` on open (default true). */
  start?: boolean;
  /** Tick automatically every 20 ms (default true). */
  autoTick?: boolean;
}

type Item = { audio: Uint8Array; off: number } | { mark: string };

export const sid = (p: "CA" | "MZ" | "AC") => p + randomBytes(16).toString("hex");

export class TwilioStream {
  readonly ws: WebSocket;
  readonly callSid: string;
  readonly streamSid: string;
  readonly accountSid = sid("AC");
  /** Every message the server sent, parsed. */
  readonly received: { event: string; [k: string]: unknown }[] = [];
  /** Audio played to the caller, in order. */
  heard: number[] = [];
  /** Marks echoed, in order, with whether they were played (false: cleared). */
  readonly echoed: { name: string; played: boolean }[] = [];
  /** Played bytes at each `clear` received. */
  readonly clears: number[] = [];
  /** Most unplayed audio ever queued (bytes): shows pacing. */
  maxQueued = 0;
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  private queue: Item[] = [];
  private caller: Uint8Array[] = [];
  private readonly frames: StreamFrames;
  private chunk = 0;
  private timer?: NodeJS.Timeout;
  /** Wall-clock playout: audio started (again) at `playStart` and `playedSince` bytes have played since. */
  private playStart = 0;
  private playedSince = 0;

  constructor(readonly o: TwilioStreamOptions) {
    this.callSid = o.callSid ?? sid("CA");
    this.streamSid = o.streamSid ?? sid("MZ");
    this.frames = new StreamFrames({ accountSid: this.accountSid, callSid: this.callSid, streamSid: this.streamSid });
    const headers: Record<string, string> = {};
    if (o.authToken) headers["X-Twilio-Signature"] = twilioSignature(o.authToken, o.signUrl ?? o.url);
    this.ws = new WebSocket(o.url, { ca: o.ca, headers });
    this.closed = new Promise((r) =>
      this.ws.once("close", (code, reason) => (this.stopTicking(), r({ code, reason: reason.toString() }))),
    );
    this.opened = new Promise((res, rej) => {
      this.ws.once("open", () => res());
      this.ws.once("unexpected-response", (_req, resp) => rej(new Error(`status ${resp.statusCode}`)));
      this.ws.once("error", rej);
    });
    this.ws.on("message", (d) => this.onMessage(d.toString()));
    this.ws.once("open", () => {
      if (o.start !== false) this.sendStart();
      if (o.autoTick !== false) this.timer = setInterval(() => this.tick(), 20);
    });
  }

  get played(): number {
    return this.heard.length;
  }

  get queuedBytes(): number {
    return this.queue.reduce((n, i) => n + ("audio" in i ? i.audio.length - i.off : 0), 0);
  }

  send(obj: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
  }

  sendStart(): void {
    this.send(this.frames.connected());
    this.send(this.frames.start(this.o.customParameters ?? {}));
  }

  /** Queue caller audio: `ms` of a loud tone (speech stand-in), then it goes back to silence. */
  say(ms: number, amplitude = 8000): void {
    const n = Math.round(ms / 20);
    const pcm = new Int16Array(160);
    for (let i = 0; i < 160; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / 8000));
    const frame = mulawEncode(pcm);
    for (let i = 0; i < n; i++) this.caller.push(frame);
  }

  /** Queue caller audio frames (160 bytes each). */
  sayFrames(frames: Uint8Array[]): void {
    this.caller.push(...frames);
  }

  dtmf(digit: string): void {
    this.send(this.frames.dtmf(digit));
  }

  stop(): void {
    this.send(this.frames.stop());
    this.ws.close(1000);
  }

  /** One 20 ms step: send a caller frame, play 160 bytes, echo the marks playback reached. */
  tick(): void {
    const frame = this.caller.shift() ?? new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
    this.chunk++;
    this.send(
      this.frames.media({ chunk: this.chunk, timestampMs: this.chunk * 20 }, Buffer.from(frame).toString("base64")),
    );
    const now = performance.now();
    let budget = this.o.autoTick === false ? FRAME_BYTES : Math.floor((now - this.playStart) * 8) - this.playedSince;
    this.echoReached();
    while (budget > 0 && this.queue.length) {
      const head = this.queue[0]!;
      if ("mark" in head) break;
      const n = Math.min(budget, head.audio.length - head.off);
      for (let i = 0; i < n; i++) this.heard.push(head.audio[head.off + i]!);
      head.off += n;
      budget -= n;
      this.playedSince += n;
      if (head.off === head.audio.length) this.queue.shift();
      this.echoReached();
    }
  }

  private echoReached(): void {
    while (this.queue.length && "mark" in this.queue[0]!)
      this.echo((this.queue.shift() as { mark: string }).mark, true);
  }

  private echo(name: string, played: boolean): void {
    this.echoed.push({ name, played });
    this.send(this.frames.mark(name));
  }

  private onMessage(text: string): void {
    const m = JSON.parse(text);
    this.received.push(m);
    if (m.event === "media") {
      if (this.queuedBytes === 0) {
        // The buffer had run dry: playback starts again with this audio.
        this.playStart = performance.now();
        this.playedSince = 0;
      }
      this.queue.push({ audio: new Uint8Array(Buffer.from(m.media.payload, "base64")), off: 0 });
      this.maxQueued = Math.max(this.maxQueued, this.queuedBytes);
    } else if (m.event === "mark") {
      this.queue.push({ mark: m.mark.name });
      // A mark with nothing buffered before it is echoed at once.
      if (this.queue.length === 1) this.echoReached();
    } else if (m.event === "clear") {
      this.clears.push(this.played);
      const pending = this.queue.filter((i): i is { mark: string } => "mark" in i);
      this.queue = [];
      for (const p of pending) this.echo(p.mark, false);
    }
  }

  private stopTicking(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stopTicking();
    this.ws.terminate();
  }
}
