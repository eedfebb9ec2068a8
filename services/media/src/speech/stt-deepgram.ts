import WebSocket from "ws";
import { z } from "zod";
import { safeError, type Logger } from "@voicecall/log";
import { ProviderError, backoffMs, retryableStatus } from "@voicecall/runtime";
import { EventQueue } from "./event-queue";
import type { SpeechToText, SttOpenOptions, SttResult, SttStream } from "./types";

export interface DeepgramOptions {
  apiKey: string;
  /** Live endpoint, default wss://api.deepgram.com/v1/listen. */
  url?: string;
  model?: string;
  /** Vendor-side endpointing silence (ms), sent as `endpointing=`. */
  endpointingMs?: number;
  /** KeepAlive period (ms); Deepgram closes an idle socket after 10 s. */
  keepAliveMs?: number;
  /** Audio buffered while the socket opens, at most (ms; default 10 s); older audio is dropped. */
  maxBufferMs?: number;
  /**
   * Frames per socket message (default 3 = 60 ms; Deepgram takes 20–250 ms). One send per 20 ms frame
   * was a quarter of a media worker's CPU (a write syscall and a mask each); the batch is flushed
   * before `Finalize`/`CloseStream`, so finals are not delayed, only partials by up to 40 ms.
   */
  batchFrames?: number;
  /** Reconnects in a row after the socket dropped (or would not open), default 3; then the stream fails. */
  reconnects?: number;
  /** First back-off before a reconnect (ms, default 250); doubles per failed try (libs/runtime policy). */
  reconnectBackoffMs?: number;
  log?: Logger;
}

/** The parts of Deepgram's live `Results` message we read; everything else passes. */
const resultsMessage = z.object({
  type: z.literal("Results"),
  is_final: z.boolean().optional(),
  speech_final: z.boolean().optional(),
  from_finalize: z.boolean().optional(),
  channel: z.object({
    alternatives: z.array(z.object({ transcript: z.string(), confidence: z.number().optional() })).min(1),
  }),
});

/** The live URL with our audio format: 8 kHz mu-law mono as Twilio sends it, no transcoding. */
export function deepgramListenUrl(o: Pick<DeepgramOptions, "url" | "model" | "endpointingMs">): string {
  const u = new URL(o.url ?? "wss://api.deepgram.com/v1/listen");
  const q = u.searchParams;
  q.set("encoding", "mulaw");
  q.set("sample_rate", "8000");
  q.set("channels", "1");
  q.set("interim_results", "true");
  q.set("endpointing", String(o.endpointingMs ?? 300));
  q.set("punctuate", "true");
  if (o.model) q.set("model", o.model);
  return u.toString();
}

/**
 * Deepgram live streaming: frames go up the socket in batches of `batchFrames`; interim results become partials; a
 * final is emitted per turn: when Deepgram marks `speech_final` (its endpointing) or answers our
 * `Finalize` (sent when our VAD ends an utterance), with the `is_final` segments joined.
 *
 * A socket that drops (network cut, Deepgram restarting) is reconnected with the shared provider policy:
 * back-off, at most `reconnects` tries in a row, a refused upgrade final when its status is (4xx except
 * 408/429). Audio of the gap waits in the backlog (at most `maxBufferMs`; older frames are dropped and
 * counted) and goes up the new socket, so the caller's words keep coming out as transcripts.
 */
export function createDeepgramStt(o: DeepgramOptions): SpeechToText {
  const url = deepgramListenUrl(o);
  const keepAliveMs = o.keepAliveMs ?? 5000;
  const maxBuffered = Math.round((o.maxBufferMs ?? 10_000) / 20);
  const batchFrames = Math.max(1, Math.floor(o.batchFrames ?? 3));
  const maxReconnects = o.reconnects ?? 3;
  const backoffBase = o.reconnectBackoffMs ?? 250;

  const open = (so: SttOpenOptions): SttStream => {
    const results = new EventQueue<SttResult>();
    const log = o.log?.child({ callId: so.callId, stt: "deepgram" });
    /** Frames and control messages not sent yet (socket opening or reconnecting), in order. */
    const backlog: (Uint8Array | string)[] = [];
    /** Frames the backlog dropped during this gap (it keeps the newest `maxBufferMs`). */
    let dropped = 0;
    let segments: string[] = [];
    let confidence: number | undefined;
    let closing = false;
    /** Reconnects tried since the socket was last open; the gap's start (epoch ms). */
    let tries = 0;
    let gapSince = 0;
    let retry: NodeJS.Timeout | undefined;
    /** Frames waiting to go up as one message (a new buffer per message: `send` may queue it). */
    let batch: Buffer | undefined;
    let batched = 0;
    let ws: WebSocket;

    const queue = (item: Uint8Array | string, frames: number) => {
      backlog.push(item);
      if (typeof item === "string" || backlog.length <= maxBuffered / frames) return;
      const i = backlog.findIndex((b) => typeof b !== "string");
      if (i >= 0) (backlog.splice(i, 1), (dropped += frames));
    };
    /** Audio went up since the last KeepAlive tick (then the socket is not idle and needs none). */
    let audioSent = false;
    const send = (item: Uint8Array | string, frames = 1) => {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(item);
        if (typeof item !== "string") audioSent = true;
      } else if (!results.ended && (!closing || typeof item === "string")) queue(item, frames);
    };
    const flush = () => {
      if (!batched || !batch) return;
      const bytes = batch.subarray(0, batched);
      batch = undefined;
      batched = 0;
      send(bytes, batchFrames);
    };

    /** `answer`: this answers our Finalize (the VAD's utterance end), so "no words" is reported too. */
    const emitFinal = (answer = false) => {
      const text = segments.join(" ").trim();
      segments = [];
      if (text || answer) results.push({ final: true, text, confidence });
      confidence = undefined;
    };
    // Deepgram closes a socket that got no audio for 10 s; one that streams every 60 ms needs no KeepAlive
    // (the streams opened together would send theirs in one burst).
    const keepAlive = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN && !audioSent) ws.send(JSON.stringify({ type: "KeepAlive" }));
      audioSent = false;
    }, keepAliveMs);
    keepAlive.unref();
    const finish = (err?: Error) => {
      clearInterval(keepAlive);
      clearTimeout(retry);
      if (err) results.fail(err);
      results.end();
    };

    /** The socket is gone without our CloseStream: connect again, or give up with `err`. */
    const lost = (err: ProviderError) => {
      emitFinal();
      if (closing || results.ended) return finish();
      if (!err.retryable || tries >= maxReconnects) {
        log?.warn({ err: safeError(err), tries }, "deepgram stream lost");
        return finish(err);
      }
      if (!gapSince) gapSince = Date.now();
      const wait = backoffMs(tries++, backoffBase);
      log?.warn({ err: safeError(err), attempt: tries, waitMs: wait }, "deepgram socket dropped, reconnecting");
      retry = setTimeout(connect, wait);
      retry.unref();
    };

    const connect = () => {
      // No permessage-deflate: mu-law audio hardly compresses, and deflating every message would cost more
      // than sending it (the bare relay, bench/limit/relay.ts, does not offer it either).
      const sock = new WebSocket(url, { headers: { Authorization: `Token ${o.apiKey}` }, perMessageDeflate: false });
      ws = sock;
      /** Set once this socket's end was handled (an upgrade refusal is followed by error and close). */
      let gone = false;
      const end = (err: ProviderError) => {
        if (gone) return;
        gone = true;
        lost(err);
      };
      sock.on("open", () => {
        if (gapSince)
          log?.info(
            { gapMs: Date.now() - gapSince, buffered: backlog.length, droppedFrames: dropped, tries },
            "deepgram reconnected",
          );
        tries = 0;
        gapSince = 0;
        dropped = 0;
        for (const f of backlog) {
          sock.send(f);
          if (typeof f !== "string") audioSent = true;
        }
        backlog.length = 0;
        if (closing) sock.send(JSON.stringify({ type: "CloseStream" }));
      });
      sock.on("message", (data, isBinary) => {
        if (isBinary) return;
        let json: unknown;
        try {
          json = JSON.parse(data.toString());
        } catch {
          log?.warn("deepgram sent invalid JSON");
          return;
        }
        const m = resultsMessage.safeParse(json);
        if (!m.success) return; // Metadata, SpeechStarted, UtteranceEnd: not needed here
        const alt = m.data.channel.alternatives[0]!;
        if (!m.data.is_final) {
          const partial = [...segments, alt.transcript].join(" ").trim();
          if (partial) results.push({ final: false, text: partial });
          return;
        }
        if (alt.transcript) segments.push(alt.transcript);
        if (alt.confidence !== undefined) confidence = Math.min(confidence ?? 1, alt.confidence);
        if (m.data.speech_final || m.data.from_finalize) emitFinal(m.data.from_finalize === true);
      });
      sock.on("unexpected-response", (_req, res) => {
        const status = res.statusCode ?? 0;
        end(new ProviderError(`deepgram refused the stream: HTTP ${status}`, retryableStatus(status), { status }));
        sock.terminate();
      });
      sock.on("error", (err) =>
        end(
          new ProviderError(`deepgram socket error: ${err.message}`, true, { kind: "network", cause: safeError(err) }),
        ),
      );
      sock.on("close", (code) => {
        if (closing) {
          gone = true;
          emitFinal();
          return finish();
        }
        end(new ProviderError(`deepgram closed the stream (${code})`, true, { kind: "network" }));
      });
    };
    connect();

    const onAbort = () => {
      closing = true;
      ws.terminate();
      finish();
    };
    so.signal.addEventListener("abort", onAbort, { once: true });

    return {
      pushFrame(mu: Uint8Array) {
        if (closing) return;
        if (batchFrames === 1 || !mu.length) return send(ws.readyState === WebSocket.OPEN ? mu : mu.slice());
        if (!batch || batch.length < batched + mu.length) {
          // From Node's buffer pool (every byte sent is written first): a new Uint8Array(480) per message cost
          // 1.3 µs and an ArrayBuffer for the GC, this 0.24 µs.
          const next = Buffer.allocUnsafe(Math.max(batchFrames * 160, batched + mu.length));
          if (batch) next.set(batch.subarray(0, batched));
          batch = next;
        }
        batch.set(mu, batched);
        batched += mu.length;
        if (batched >= batchFrames * 160) flush();
      },
      endUtterance() {
        flush();
        send(JSON.stringify({ type: "Finalize" }));
      },
      get results() {
        return results;
      },
      close() {
        if (closing) return;
        flush();
        closing = true;
        so.signal.removeEventListener("abort", onAbort);
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "CloseStream" }));
        else if (ws.readyState !== WebSocket.CONNECTING) {
          // Between sockets: nothing more will be heard.
          finish();
          return;
        }
        // Deepgram answers CloseStream with the last results and closes; don't wait forever.
        setTimeout(() => ws.terminate(), 5000).unref();
      },
    };
  };

  return { label: "deepgram", capabilities: { partials: true, streaming: true }, open };
}
