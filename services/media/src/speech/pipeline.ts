import type { Logger } from "@voicecall/log";
import { Endpointer, type EndpointerOptions } from "./endpointer";
import { EventQueue } from "./event-queue";
import { decodeMulawInto } from "./mulaw-frame";
import { rms } from "@voicecall/audio";
import type {
  Heard,
  SpeechEvent,
  SpeechPipeline,
  SpeechToText,
  SttStream,
  VadStream,
  VoiceActivityDetector,
} from "./types";

const FRAME_BYTES = 160;
/** −40 dBFS: frames below are pauses, not voice (the level floor's threshold too). */
const QUIET = 0.01;

/**
 * `pcm` with `ms` more of the quiet it ends in: a copy of its own last samples (the line's quiet, which
 * an early check decides on only if it stays quiet), repeated if they are shorter than that.
 */
export function padQuiet(pcm: Int16Array, ms: number): Int16Array {
  const n = Math.max(0, Math.round(ms)) * 8;
  if (n === 0) return pcm;
  const src = Math.min(n, pcm.length);
  const out = new Int16Array(pcm.length + n);
  out.set(pcm);
  for (let i = 0; i < n; i++) out[pcm.length + i] = pcm[pcm.length - src + (i % src)]!;
  return out;
}

export interface PipelineParts {
  vad: VoiceActivityDetector;
  stt: SpeechToText;
  endpointer?: EndpointerOptions;
  log?: Logger;
}

/**
 * One stream's speech-in: mu-law → PCM → VAD → endpointer → STT, events out.
 * `push` decodes into a reused buffer and copies into the endpointer's buffers: per frame it allocates
 * nothing (an utterance allocates its buffer when it starts, and its PCM once, when it ends).
 */
export function openPipeline(
  parts: PipelineParts,
  o: { callId: string; signal: AbortSignal; grammar?: string },
): SpeechPipeline {
  const events = new EventQueue<SpeechEvent>();
  const pcm = new Int16Array(FRAME_BYTES);
  const carry = new Uint8Array(FRAME_BYTES);
  let carryLen = 0;
  const vad: VadStream = parts.vad.open();
  const streaming = parts.stt.capabilities.streaming;
  const sttAbort = new AbortController();
  const stt: SttStream = parts.stt.open({ callId: o.callId, signal: sttAbort.signal, grammar: o.grammar });
  // A streaming engine had every frame already and cannot `peek`: the utterance's PCM would go unread.
  const ep = new Endpointer({ ...parts.endpointer, keepPcm: !streaming || !!stt.peek });
  /**
   * Per utterance handed to the STT and not yet answered (utterance-level engines), in order: its speech
   * length, its voiced-frame RMS, and whether it was heard over agent speech (the decode may answer after
   * the agent stops).
   */
  const pending: { speechMs: number; level: number; over: boolean }[] = [];
  let lastSpeechMs = 0;
  let lastLevel = 0;
  let closed = false;
  let streamMs = 0;
  let lastVoicedMs = 0;
  let lastLoudMs = 0;
  let floor = 0;
  /** Over agent speech now (`setOverAgent`), and at any time during the running utterance. */
  let over = false;
  let uttOver = false;
  /** Sum of squares and count of voiced frames' RMS in the running utterance. */
  let voicedSq = 0;
  let voicedN = 0;
  /** Utterances started so far, and the last peek: of which utterance, up to which voiced frame, its answer. */
  let uttSeq = 0;
  let peeked: { seq: number; voicedMs: number; heard: Promise<Heard> } | undefined;

  const frame = (mu: Uint8Array) => {
    if (streaming) stt.pushFrame(mu);
    streamMs += 20;
    decodeMulawInto(mu, pcm);
    uttOver = ep.inSpeech ? uttOver || over : over;
    let voiced = vad.isSpeech(pcm);
    if (voiced) {
      const level = rms(pcm);
      // The floor keeps echo and background speech from starting an utterance; inside one that a voice
      // loud enough started, softer frames are that voice (gating them would delay a real barge-in).
      if (level < floor && !ep.inSpeech) voiced = false;
      else {
        lastVoicedMs = streamMs;
        // The VAD's hangover runs a few frames past a sound into silence: voice for its length, not for the quiet after it.
        if (level > QUIET) lastLoudMs = streamMs;
        voicedSq += level * level;
        voicedN++;
      }
    }
    const ev = ep.push(voiced, pcm);
    if (ev) onEndpoint(ev);
    else if (!voiced && !ep.inSpeech) voicedSq = voicedN = 0; // a blip that started no utterance
  };

  const onEndpoint = (ev: NonNullable<ReturnType<Endpointer["push"]>>) => {
    if (ev.type === "speech.started") {
      uttSeq++;
      events.push({ type: "speech.started", atMs: ev.atMs });
      return;
    }
    events.push({ type: "speech.stopped", atMs: ev.atMs, durationMs: ev.durationMs });
    lastSpeechMs = ev.durationMs;
    lastLevel = voicedN ? Math.sqrt(voicedSq / voicedN) : 0;
    voicedSq = 0;
    voicedN = 0;
    if (!streaming) {
      pending.push({ speechMs: ev.durationMs, level: lastLevel, over: uttOver });
    }
    // A peek of this utterance with no voiced frame after it decoded the same audio (its quiet padded out to
    // the gap; the final's tail is more of that quiet): its answer is the final, the decoder is not asked twice.
    const heard = peeked && peeked.seq === uttSeq && peeked.voicedMs === lastVoicedMs ? peeked.heard : undefined;
    peeked = undefined;
    stt.endUtterance(ev.pcm, { verify: uttOver, heard });
  };

  // Read the STT's results into our events; the pipeline's events end when the STT's do.
  void (async () => {
    try {
      for await (const r of stt.results) {
        if (!r.final) {
          if (r.text) events.push({ type: "transcript.partial", text: r.text });
          continue;
        }
        const p = streaming ? undefined : pending.shift();
        const speechMs = p?.speechMs ?? lastSpeechMs;
        const level = p?.level ?? lastLevel;
        const overAgent = p?.over;
        if (!r.text.trim()) {
          events.push({ type: "transcript.none", speechMs }); // noise decoded to nothing: no turn
          continue;
        }
        events.push({
          type: "transcript.final",
          text: r.text,
          confidence: r.confidence,
          speechMs,
          decodeMs: r.decodeMs,
          level,
          fixed: r.fixed,
          overAgent,
        });
        parts.log?.debug(
          { callId: o.callId, decodeMs: r.decodeMs, audioMs: r.audioMs, pii: { text: r.text } },
          "transcript final",
        );
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
    get lastVoicedMs() {
      return lastVoicedMs;
    },
    get lastLoudMs() {
      return lastLoudMs;
    },
    setLevelFloor(rmsFloor: number) {
      floor = rmsFloor;
    },
    setOverAgent(on: boolean) {
      over = on;
    },
    ...(stt.peek
      ? {
          async peek(po?: { quietMs?: number }) {
            const utt = ep.current();
            if (!utt || !utt.length) return undefined;
            const pad = po?.quietMs ? po.quietMs - (streamMs - Math.min(lastVoicedMs, lastLoudMs)) : 0;
            const heard = stt.peek!(padQuiet(utt, pad));
            peeked = { seq: uttSeq, voicedMs: lastVoicedMs, heard };
            return heard;
          },
        }
      : streaming
        ? {
            endNow() {
              const ev = ep.flush();
              if (ev) onEndpoint(ev);
            },
          }
        : {}),
    /** Ends the stream: a running utterance is cut and transcribed, then `events` finishes. */
    close() {
      shutdown(false);
    },
  };
}
