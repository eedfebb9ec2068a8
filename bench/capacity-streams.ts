/** The capacity ramp's traffic: raw Media Streams sockets (Twilio's side), a counting STT, and the lag probe. */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { FRAME_BYTES } from "@voicecall/audio";
import { StreamFrames } from "@voicecall/twilio-sim";

export const TICK = 20;

/** A Deepgram-protocol stand-in that only counts audio: `Finalize` answers a final at once. */
export async function startCountingDeepgram(apiKey: string): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer((_q, s) => s.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on("upgrade", (req, socket, head) => {
    if (req.headers.authorization !== `Token ${apiKey}`) return socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
    wss.handleUpgrade(req, socket, head, (ws) => {
      let bytes = 0;
      let start = 0;
      ws.on("message", (d, bin) => {
        if (bin) return void (bytes += (d as Buffer).length);
        const t = JSON.parse(d.toString()) as { type: string };
        if (t.type === "Finalize" || t.type === "CloseStream") {
          const text = bytes > 2400 ? "what are your opening hours" : "";
          ws.send(
            JSON.stringify({
              type: "Results",
              channel_index: [0, 1],
              duration: bytes / 8000,
              start,
              is_final: true,
              speech_final: true,
              from_finalize: true,
              channel: { alternatives: [{ transcript: text, confidence: 0.98, words: [] }] },
            }),
          );
          start += bytes / 8000;
          bytes = 0;
        }
        if (t.type === "CloseStream") ws.close(1000);
      });
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/v1/listen`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** One raw Media Streams socket, Twilio side, kept cheap: pre-encoded frames, marks echoed at playback. */
export class RawStream {
  readonly streamSid = `MZ${randomBytes(16).toString("hex")}`;
  private ws: WebSocket;
  private sent = 0;
  private startAt = 0;
  private queued = 0;
  private marks: { at: number; name: string }[] = [];
  private playedTotal = 0;
  framesOut = 0;
  live = false;
  private readonly frames: StreamFrames;

  constructor(
    url: string,
    sig: string,
    readonly callId: string,
    private readonly callSid: string,
    token: string,
    private readonly track: string[],
    private readonly phase: number,
    accountSid: string,
  ) {
    this.ws = new WebSocket(url, { headers: { "X-Twilio-Signature": sig }, perMessageDeflate: false });
    this.frames = new StreamFrames({ accountSid, callSid, streamSid: this.streamSid });
    this.ws.on("open", () => {
      this.ws.send(this.frames.connected());
      this.ws.send(this.frames.start({ callId, token }));
      this.startAt = Date.now();
      this.live = true;
    });
    this.ws.on("message", (d) => this.onMessage(d as Buffer));
    this.ws.on("error", () => undefined);
    this.ws.on("close", () => (this.live = false));
  }

  tick(now: number): void {
    if (!this.live) return;
    const due = Math.floor((now - this.startAt) / TICK) + 1;
    while (this.sent < due) {
      const i = (this.sent + this.phase) % this.track.length;
      this.ws.send(this.frames.media({ chunk: this.sent + 1, timestampMs: this.sent * TICK }, this.track[i]!));
      this.sent++;
    }
    // Playback: 160 bytes per tick; echo marks the playhead reaches.
    const play = Math.min(this.queued, FRAME_BYTES);
    this.queued -= play;
    this.playedTotal += play;
    while (this.marks.length && this.marks[0]!.at <= this.playedTotal) this.echo(this.marks.shift()!.name);
  }

  private echo(name: string): void {
    this.ws.send(this.frames.mark(name));
  }

  private onMessage(d: Buffer): void {
    const m = JSON.parse(d.toString()) as { event: string; media?: { payload: string }; mark?: { name: string } };
    if (m.event === "media" && m.media) {
      const n = Buffer.byteLength(m.media.payload, "base64");
      this.queued += n;
      this.framesOut += n / FRAME_BYTES;
    } else if (m.event === "mark" && m.mark) {
      if (this.queued === 0) this.echo(m.mark.name);
      else this.marks.push({ at: this.playedTotal + this.queued, name: m.mark.name });
    } else if (m.event === "clear") {
      this.queued = 0;
      for (const x of this.marks) this.echo(x.name);
      this.marks = [];
    }
  }

  close(): void {
    this.live = false;
    this.ws.terminate();
  }
}

export async function lagP99Ms(metricsUrl: string): Promise<number> {
  return (await scrapeWorker(metricsUrl)).lagP99Ms;
}

/** The worker's event-loop lag p99 (see `lagP99Ms`) and its V8 heap in use and external memory (MB), from `/metrics`. */
export async function scrapeWorker(
  metricsUrl: string,
): Promise<{ lagP99Ms: number; heapUsedMB: number; externalMB: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const lag = read("nodejs_eventloop_lag_p99_seconds");
  if (lag === undefined)
    throw new Error(`no nodejs_eventloop_lag_p99_seconds at ${metricsUrl} (media /metrics missing?)`);
  const mb = (v: number | undefined) => Math.round(((v ?? 0) / 1048576) * 10) / 10;
  return {
    // monitorEventLoopDelay (prom-client's default resolution 10 ms) records the whole timer interval:
    // an idle loop reads 10 ms. The lag is what is left above the resolution.
    lagP99Ms: Math.max(0, Math.round((lag * 1000 - PROM_LAG_RESOLUTION_MS) * 10) / 10),
    heapUsedMB: mb(read("nodejs_heap_size_used_bytes")),
    externalMB: mb(read("nodejs_external_memory_bytes")),
  };
}
const PROM_LAG_RESOLUTION_MS = 10;
