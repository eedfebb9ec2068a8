import type { Logger } from "@voicecall/log";
import { Endpointer, type EndpointerOptions } from "./endpointer";
import { EventQueue } from "./event-queue";
import { decodeMulawInto } from "./mulaw-frame";
import type { SpeechEvent, SpeechPipeline, SpeechToText, SttStream, VadStream, VoiceActivityDetector } from "./types";

const FRAME_BYTES = 160;

export interface PipelineParts {
  vad: VoiceActivityDetector;
  stt: SpeechToText;
  endpointer?: EndpointerOptions;
  log?: Logger;
}

/**
 * One stream's speech-in: mu-law → PCM → VAD → endpointer → STT, events out.
 * `push` decodes into a reused buffer and copies into the endpointer's reused buffers: per frame it
 * allocates nothing (an utterance allocates its PCM once, when it ends).
 */
export function openPipeline(parts: PipelineParts, o: { callId: string; signal: AbortSignal; grammar?: string }): SpeechPipeline {
  const events = new EventQueue<SpeechEvent>();
  const pcm = new Int16Array(FRAME_BYTES);
  const carry = new Uint8Array(FRAME_BYTES);
  let carryLen = 0;
  const ep = new Endpointer(parts.endpointer);
  const vad: VadStream = parts.vad.open();
  const streaming = parts.stt.capabilities.streaming;
  const sttAbort = new AbortController();
  const stt: SttStream = parts.stt.open({ callId: o.callId, signal: sttAbort.signal, grammar: o.grammar });
  /** Speech lengths of utterances handed to the STT and not yet answered (utterance-level engines). */
  const pendingSpeechMs: number[] = [];
  let lastSpeechMs = 0;
  let closed = false;

  const frame = (mu: Uint8Array) => {
    if (streaming) stt.pushFrame(mu);
    const ev = ep.push(vad.isSpeech(decodeMulawInto(mu, pcm)), pcm);
    if (ev) onEndpoint(ev);
  };

  const onEndpoint = (ev: NonNullable<ReturnType<Endpointer["push"]>>) => {
    if (ev.type === "speech.started") {
      events.push({ type: "speech.started", atMs: ev.atMs });
      return;
    }
    events.push({ type: "speech.stopped", atMs: ev.atMs, durationMs: ev.durationMs });
    lastSpeechMs = ev.durationMs;
    if (!streaming) pendingSpeechMs.push(ev.durationMs);
    stt.endUtterance(ev.pcm);
  };

  // Read the STT's results into our events; the pipeline's events end when the STT's do.
  void (async () => {
    try {
      for await (const r of stt.results) {
        if (!r.final) {
          if (r.text) events.push({ type: "transcript.partial", text: r.text });
          continue;
        }
        const speechMs = streaming ? lastSpeechMs : (pendingSpeechMs.shift() ?? lastSpeechMs);
        if (!r.text.trim()) {
          events.push({ type: "transcript.none", speechMs }); // noise decoded to nothing: no turn
          continue;
        }
        events.push({ type: "transcript.final", text: r.text, confidence: r.confidence, speechMs, decodeMs: r.decodeMs });
        parts.log?.debug({ callId: o.callId, decodeMs: r.decodeMs, audioMs: r.audioMs, pii: { text: r.text } }, "transcript final");
      }
    } catch (err) {
      parts.log?.warn({ callId: o.callId, err, stt: parts.stt.label }, "speech to text failed");
    } finally {
      events.end();
    }
  })();

  const shutdown = (hard: boolean) => {
    if (closed) return;
    closed = true;
    o.signal.removeEventListener("abort", onAbort);
    if (!hard) {
      const ev = ep.flush();
      if (ev) onEndpoint(ev);
    }
    vad.close();
    stt.close();
    if (hard) {
      sttAbort.abort();
      events.end();
    }
  };
  const onAbort = () => shutdown(true);
  if (o.signal.aborted) queueMicrotask(onAbort);
  else o.signal.addEventListener("abort", onAbort, { once: true });

  return {
    push(mu: Uint8Array) {
      if (closed) return;
      if (carryLen === 0 && mu.length === FRAME_BYTES) return frame(mu);
      // Odd-sized input (not Twilio's 160-byte frames): re-cut into 20 ms frames.
      let off = 0;
      while (off < mu.length) {
        const n = Math.min(FRAME_BYTES - carryLen, mu.length - off);
        carry.set(mu.subarray(off, off + n), carryLen);
        carryLen += n;
        off += n;
        if (carryLen === FRAME_BYTES) {
          carryLen = 0;
          frame(carry);
        }
      }
    },
    get events() {
      return events;
    },
    setGrammar(jsgf) {
      stt.setGrammar?.(jsgf);
    },
    /** Ends the stream: a running utterance is cut and transcribed, then `events` finishes. */
    close() {
      shutdown(false);
    },
  };
}
