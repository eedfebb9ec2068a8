import WebSocket from "ws";
import { z } from "zod";
import type { Logger } from "@voicecall/log";
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
 */
export function createDeepgramStt(o: DeepgramOptions): SpeechToText {
  const url = deepgramListenUrl(o);
  const keepAliveMs = o.keepAliveMs ?? 5000;
  const maxBuffered = Math.round((o.maxBufferMs ?? 10_000) / 20);
  const batchFrames = Math.max(1, Math.floor(o.batchFrames ?? 3));

  const open = (so: SttOpenOptions): SttStream => {
    const results = new EventQueue<SttResult>();
    const ws = new WebSocket(url, { headers: { Authorization: `Token ${o.apiKey}` } });
    /** Frames and control messages sent before the socket opened, in order. */
    const backlog: (Uint8Array | string)[] = [];
    let segments: string[] = [];
    let confidence: number | undefined;
    let closing = false;
    /** Frames waiting to go up as one message (a new buffer per message: `send` may queue it). */
    let batch: Uint8Array | undefined;
    let batched = 0;
    const flush = () => {
      if (!batched || !batch) return;
      const bytes = batch.subarray(0, batched);
      batch = undefined;
      batched = 0;
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes);
      else if (ws.readyState === WebSocket.CONNECTING) {
        backlog.push(bytes);
        if (backlog.length > maxBuffered / batchFrames) backlog.splice(backlog.findIndex((b) => typeof b !== "string"), 1);
      }
    };
    const log = o.log?.child({ callId: so.callId, stt: "deepgram" });

    /** `answer`: this answers our Finalize (the VAD's utterance end), so "no words" is reported too. */
    const emitFinal = (answer = false) => {
      const text = segments.join(" ").trim();
      segments = [];
      if (text || answer) results.push({ final: true, text, confidence });
      confidence = undefined;
    };
    const keepAlive = setInterval(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "KeepAlive" }));
    }, keepAliveMs);
    keepAlive.unref();

    ws.on("open", () => {
      for (const f of backlog) ws.send(f);
      backlog.length = 0;
      if (closing) ws.send(JSON.stringify({ type: "CloseStream" }));
    });
    ws.on("message", (data, isBinary) => {
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
    ws.on("unexpected-response", (_req, res) => {
      results.fail(new Error(`deepgram refused the stream: HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.on("error", (err) => {
      log?.warn({ err }, "deepgram socket error");
      results.fail(err);
    });
    ws.on("close", (code) => {
      clearInterval(keepAlive);
      emitFinal();
      if (!closing && code !== 1000) results.fail(new Error(`deepgram closed the stream (${code})`));
      results.end();
    });
    const onAbort = () => {
      closing = true;
      ws.terminate();
      results.end();
    };
    so.signal.addEventListener("abort", onAbort, { once: true });

    return {
      pushFrame(mu: Uint8Array) {
        if (closing) return;
        if (batchFrames === 1 || !mu.length) {
          if (ws.readyState === WebSocket.OPEN) ws.send(mu);
          else if (ws.readyState === WebSocket.CONNECTING) {
            backlog.push(mu.slice());
            if (backlog.length > maxBuffered) backlog.splice(backlog.findIndex((b) => typeof b !== "string"), 1);
          }
          return;
        }
        if (!batch || batch.length < batched + mu.length) {
          const next = new Uint8Array(Math.max(batchFrames * 160, batched + mu.length));
          if (batch) next.set(batch.subarray(0, batched));
          batch = next;
        }
        batch.set(mu, batched);
        batched += mu.length;
        if (batched >= batchFrames * 160) flush();
      },
      endUtterance() {
        flush();
        const finalize = JSON.stringify({ type: "Finalize" });
        if (ws.readyState === WebSocket.OPEN) ws.send(finalize);
        else if (ws.readyState === WebSocket.CONNECTING) backlog.push(finalize);
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
        else if (ws.readyState !== WebSocket.CONNECTING) results.end();
        // Deepgram answers CloseStream with the last results and closes; don't wait forever.
        setTimeout(() => ws.terminate(), 5000).unref();
      },
    };
  };

  return { label: "deepgram", capabilities: { partials: true, streaming: true }, open };
}
