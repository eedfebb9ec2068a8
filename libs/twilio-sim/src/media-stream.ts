import { isIP } from "node:net";
import WebSocket from "ws";
import { twilioSignature } from "@voicecall/auth";
import type { HeardRecorder, MarkRecord } from "./heard-recorder";
import { arrivalTime, clock, DelayLine, type NetworkConditions } from "./network";
import { Player } from "./player";
import { StreamFrames } from "./stream-frames";
import { trustContext } from "./tls-trust";

const TICK_MS = 20;

export interface MediaStreamOptions {
  /** The Stream url as Twilio connects to it (query string already handled by the caller). */
  url: string;
  authToken: string;
  accountSid: string;
  callSid: string;
  streamSid: string;
  customParameters: Record<string, string>;
  tracks?: string[];
  ca?: string | Buffer;
  /** Connect elsewhere while signing and sending Host for `url`. */
  route?: (url: URL) => URL;
  /** Sign `url + "/"` instead of `url` ([OBS] knob; default false). */
  signTrailingSlash?: boolean;
  /** Close code after `stop` ([INFER] undocumented; default 1000). */
  closeCode?: number;
  /** `media.timestamp` of the first frame (the capture started at 52; default 0). */
  firstTimestampMs?: number;
  /** Reject messages with extra/missing fields (31951), as documented. Default true. */
  strict?: boolean;
  /** Next 160-byte frame the caller says, or undefined for silence (0xFF). */
  nextCallerFrame: () => Uint8Array | undefined;
  recorder: HeardRecorder;
  onWarning: (code: number, message: string) => void;
  /** The call's network, read for every message (so a test can change it mid-call). Default: none. */
  network?: () => NetworkConditions | undefined;
}

export type OpenResult = { ok: true } | { ok: false; code: number; message: string; status?: number };
export interface CloseInfo {
  by: "app" | "twilio";
  code: number;
  reason: string;
}

/**
 * One bidirectional Media Stream, Twilio side: signed wss upgrade, `connected` + `start`, 20 ms
 * inbound `media` paced in real time, outbound playout at 8000 B/s with marks echoed when playback
 * reaches them and `clear` flushing the queue and echoing pending marks (`Player`), each direction
 * through the call's network (`DelayLine`).
 */
export class MediaStream {
  private ws?: WebSocket;
  private readonly frames: StreamFrames;
  private framesSent = 0;
  private mediaStart = 0;
  private timer?: NodeJS.Timeout;
  private readonly player: Player;
  /** App → Twilio and Twilio → app. */
  private readonly toTwilio: DelayLine;
  private readonly fromTwilio: DelayLine;
  private stopping = false;
  private warned = new Set<number>();
  private resolveClosed!: (c: CloseInfo) => void;
  /** Resolves when the socket is closed, by either side. */
  readonly closed = new Promise<CloseInfo>((r) => (this.resolveClosed = r));
  /** Messages received from the app, by event (for tests). */
  readonly received: Record<string, number> = {};

  constructor(readonly o: MediaStreamOptions) {
    this.frames = new StreamFrames({ accountSid: o.accountSid, callSid: o.callSid, streamSid: o.streamSid });
    this.toTwilio = new DelayLine(() => o.network?.()?.toTwilio, clock);
    this.fromTwilio = new DelayLine(() => o.network?.()?.fromTwilio, clock);
    this.player = new Player({
      recorder: o.recorder,
      streamSid: o.streamSid,
      now: clock,
      echo: (rec, at) => this.echoMark(rec, at),
      warn: (c, m) => this.warn(c, m),
    });
  }

  get streamSid(): string {
    return this.o.streamSid;
  }

  /** Open the socket; on 101 send `connected` and `start` and begin streaming. */
  open(): Promise<OpenResult> {
    const u = new URL(this.o.url);
    if (u.protocol !== "wss:")
      return Promise.resolve({ ok: false, code: 31922, message: `Stream url scheme must be wss: ${u.protocol}` });
    const signed = this.o.signTrailingSlash && !this.o.url.endsWith("/") ? this.o.url + "/" : this.o.url;
    const dest = this.o.route ? this.o.route(new URL(this.o.url)) : u;
    const ws = new WebSocket(dest.toString(), {
      headers: {
        "X-Twilio-Signature": twilioSignature(this.o.authToken, signed, {}),
        Host: u.host,
        "User-Agent": "Twilio.TmeWs/1.0",
      },
      secureContext: trustContext(this.o.ca),
      handshakeTimeout: 10_000,
      perMessageDeflate: false,
      // ws derives SNI from the URL it dials; when routed, keep the public name for TLS.
      ...(this.o.route && !isIP(u.hostname) ? { servername: u.hostname } : {}),
    } as WebSocket.ClientOptions);
    this.ws = ws;
    return new Promise<OpenResult>((resolve) => {
      let settled = false;
      const fail = (r: OpenResult) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      ws.once("unexpected-response", (_req, res) => {
        fail({
          ok: false,
          code: 31920,
          status: res.statusCode,
          message: `Stream - WebSocket - Handshake Error: status ${res.statusCode}`,
        });
        res.resume();
        ws.terminate();
      });
      ws.once("error", (e: NodeJS.ErrnoException) => {
        const code =
          e.code === "ECONNREFUSED"
            ? 31902
            : /certificate|TLS|SSL|self.signed/i.test(e.message)
              ? 31910
              : /timed out|ETIMEDOUT/i.test(e.message)
                ? 31901
                : 31920;
        fail({ ok: false, code, message: e.message });
      });
      ws.once("open", () => {
        settled = true;
        this.begin();
        resolve({ ok: true });
      });
      ws.on("close", (code, reason) => {
        this.halt();
        this.toTwilio.close();
        this.fromTwilio.close();
        if (settled) this.resolveClosed({ by: this.stopping ? "twilio" : "app", code, reason: reason.toString() });
        else fail({ ok: false, code: 31920, message: `closed during handshake (${code})` });
      });
    });
  }

  /** Onto the network toward the app; `sentAt` is when Twilio would have sent it (default now). */
  private send(text: string, sentAt?: number): void {
    this.fromTwilio.send(() => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(text);
    }, sentAt);
  }

  private begin(): void {
    const ws = this.ws!;
    this.send(this.frames.connected());
    this.send(this.frames.start(this.o.customParameters, this.o.tracks));
    ws.on("message", (data, isBinary) => {
      const arrivedAt = arrivalTime();
      this.toTwilio.send((at) => this.onMessage(data as Buffer, isBinary, at), arrivedAt);
    });
    this.mediaStart = clock();
    this.tick();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  private tick(): void {
    const now = clock();
    // Inbound: one frame per 20 ms of wall time since start; catch up after a stall, as a jittery network would.
    const due = Math.floor((now - this.mediaStart) / TICK_MS) + 1;
    while (this.framesSent < due && this.ws?.readyState === WebSocket.OPEN) {
      const frame = this.o.nextCallerFrame() ?? new Uint8Array(160).fill(0xff);
      const at = {
        chunk: this.framesSent + 1,
        timestampMs: (this.o.firstTimestampMs ?? 0) + this.framesSent * TICK_MS,
      };
      this.send(
        this.frames.media(at, Buffer.from(frame).toString("base64")),
        this.mediaStart + this.framesSent * TICK_MS,
      );
      this.framesSent++;
    }
    this.player.advance(now);
  }

  private echoMark(rec: MarkRecord, at: number): void {
    rec.echoedAtMs = at - this.o.recorder.t0;
    this.send(this.frames.mark(rec.name), at);
  }

  private warn(code: number, message: string): void {
    // Twilio raises each of these once per stream.
    if (this.warned.has(code)) return;
    this.warned.add(code);
    this.o.onWarning(code, message);
  }

  /** A message from the app, arrived (after the network) at `at`. */
  private onMessage(data: Buffer, isBinary: boolean, at: number): void {
    if (isBinary) return this.warn(31950, "Malformed Message: binary frame ignored");
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(data.toString("utf8"));
    } catch {
      return this.warn(31951, "Invalid Message: not JSON");
    }
    const event = typeof m?.event === "string" ? m.event : "";
    this.received[event || "?"] = (this.received[event || "?"] ?? 0) + 1;
    const body = m[event] as Record<string, unknown> | undefined;
    const keysOk = (allowed: string[]) => this.o.strict === false || Object.keys(m).every((k) => allowed.includes(k));
    if (m.streamSid !== this.o.streamSid)
      return this.warn(31951, `Invalid Message: wrong or missing streamSid in ${event || "message"}`);
    if (event === "media" && typeof body?.payload === "string" && keysOk(["event", "streamSid", "media"]))
      return this.player.audio(Buffer.from(body.payload, "base64"), at);
    if (event === "mark" && typeof body?.name === "string" && keysOk(["event", "streamSid", "mark"]))
      return this.player.mark(body.name, at);
    if (event === "clear" && keysOk(["event", "streamSid"])) return this.player.clear(at);
    this.warn(31951, `Invalid Message: ${event ? `bad ${event} message` : "no event"}`);
  }

  /** Outbound audio still queued, in ms. */
  queuedMs(): number {
    return this.player.queuedMs();
  }

  /** Send a `dtmf` message (bidirectional streams only carry inbound DTMF). */
  dtmf(digit: string): void {
    this.send(this.frames.dtmf(digit));
  }

  /** Twilio ends the stream: `stop` (unless `sendStop` is false), then close. Resolves once closed. */
  async stop(sendStop = true): Promise<CloseInfo> {
    if (!this.ws || this.ws.readyState >= WebSocket.CLOSING) return this.closed;
    this.stopping = true;
    this.halt();
    if (sendStop) this.send(this.frames.stop());
    // The close travels behind what is still on its way to the app (the stop included).
    await this.fromTwilio.drained();
    if (this.ws.readyState < WebSocket.CLOSING) this.ws.close(this.o.closeCode ?? 1000);
    const t = setTimeout(() => this.ws?.terminate(), 2000);
    const c = await this.closed;
    clearTimeout(t);
    return c;
  }

  /** Abrupt drop (no close frame), e.g. to model a network failure. */
  drop(): void {
    this.stopping = true;
    this.halt();
    this.toTwilio.close();
    this.fromTwilio.close();
    this.ws?.terminate();
  }

  private halt(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.player.stop();
  }
}
