import { mulawDecode, rms, FRAME_MS } from "@voicecall/audio";
import type { SpeechEvent, SpeechPipeline, SpeechPipelineFactory } from "../src/speech/types";

/**
 * A real, tiny speech pipeline for tests of the stream core: a frame is speech when its level is above
 * `threshold`; an utterance ends after `silenceMs`; its "transcript" is one word per `msPerWord` of
 * speech ("word word …"), so a cough is empty (`transcript.none`) and a sentence has words. Partials likewise.
 * `finalDelayMs` holds each final back that long (wall clock), the way a slow or loaded recogniser does.
 */
export function energyPipelineFactory(
  o: { threshold?: number; silenceMs?: number; msPerWord?: number; finalDelayMs?: number } = {},
): SpeechPipelineFactory {
  const threshold = o.threshold ?? 0.05;
  const silenceMs = o.silenceMs ?? 200;
  const msPerWord = o.msPerWord ?? 400;
  const text = (ms: number) => Array.from({ length: Math.floor(ms / msPerWord) }, () => "word").join(" ");
  return {
    open({ signal }): SpeechPipeline {
      const q = new EventQueue<SpeechEvent>();
      let at = 0;
      let inSpeech = false;
      let voiced = 0;
      let silent = 0;
      let startMs = 0;
      signal.addEventListener("abort", () => q.end());
      return {
        push(mu) {
          at += FRAME_MS;
          const loud = rms(mulawDecode(mu)) > threshold;
          if (!inSpeech) {
            if (!loud) return;
            inSpeech = true;
            voiced = FRAME_MS;
            silent = 0;
            startMs = at - FRAME_MS;
            q.push({ type: "speech.started", atMs: startMs });
            return;
          }
          if (loud) {
            voiced += FRAME_MS;
            silent = 0;
            if (voiced % msPerWord === 0) q.push({ type: "transcript.partial", text: text(voiced) });
            return;
          }
          silent += FRAME_MS;
          if (silent < silenceMs) return;
          inSpeech = false;
          q.push({ type: "speech.stopped", atMs: at, durationMs: at - startMs });
          const t = text(voiced);
          const result: SpeechEvent = t
            ? { type: "transcript.final", text: t, speechMs: voiced }
            : { type: "transcript.none", speechMs: voiced };
          if (o.finalDelayMs) setTimeout(() => q.push(result), o.finalDelayMs).unref();
          else q.push(result);
        },
        events: q,
        close: () => q.end(),
      };
    },
  };
}

class EventQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private wake?: () => void;
  private done = false;
  push(v: T): void {
    if (this.done) return;
    this.items.push(v);
    this.wake?.();
  }
  end(): void {
    this.done = true;
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.items.length) yield this.items.shift()!;
      if (this.done) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}
