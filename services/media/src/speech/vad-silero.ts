import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-web";
import type { Logger } from "@voicecall/log";
import type { VadStream, VoiceActivityDetector } from "./types";

/**
 * Silero VAD v5 (the ONNX model shipped inside `@ricky0123/vad-web`) on onnxruntime-web's WASM
 * backend, single-threaded: no native binaries, nothing downloaded at run time.
 *
 * The model wants 16 kHz in 512-sample windows (32 ms) plus the previous window's last 64 samples
 * as context, with a recurrent state per stream. Each 20 ms 8 kHz frame is upsampled 2× (linear
 * interpolation, continuous across frames) and buffered; every complete window is queued for inference.
 *
 * Latency, and why the pipeline stays correct: `isSpeech` is synchronous but `session.run` is async,
 * so a frame's answer is the decision of the latest window whose inference has finished. Inference
 * resolves within microtasks (~1–3 ms of CPU, measured), and Twilio's frames arrive one per event-loop
 * turn 20 ms apart, so in a live call the answer lags the audio by one window: 20–52 ms (~32 ms on
 * average). The endpointer thus sees speech start and end ~one window late; its 200 ms preroll/tail
 * still cover the words. If frames are pushed in a burst (faster than real time, without yielding
 * to the event loop) the answers lag by the burst: feed such audio with a yield per frame.
 *
 * One session per worker (process or thread), shared by every stream; runs are serialised
 * through one queue so streams never interleave inside the session.
 */

const WINDOW = 512; // samples at 16 kHz = 32 ms
const CONTEXT = 64;
const FRAME_8K = 160;
/** Silero's recommended hysteresis: once speaking, stay speaking until p < threshold − 0.15 (at least threshold / 2). */
const HYSTERESIS = 0.15;

export interface SileroOptions {
  /** Speech when the probability reaches this (0..1). Default 0.5. */
  threshold?: number;
  /** Path of the ONNX model; default: `silero_vad_v5.onnx` from `@ricky0123/vad-web`. */
  modelPath?: string;
  log?: Logger;
}

/** The v5 model file inside the installed `@ricky0123/vad-web` package. */
export function defaultSileroModelPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@ricky0123/vad-web")), "silero_vad_v5.onnx");
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();
/** Serialises every run on this worker's sessions. */
let queue: Promise<unknown> = Promise.resolve();

/** Resolves when every inference queued so far on this worker has finished (tests, benchmarks). */
export function sileroSettled(): Promise<void> {
  return queue.then(() => undefined);
}

function loadSession(path: string): Promise<ort.InferenceSession> {
  let s = sessions.get(path);
  if (!s) {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    s = readFile(path).then((buf) => ort.InferenceSession.create(buf, { executionProviders: ["wasm"] }));
    s.catch(() => sessions.delete(path));
    sessions.set(path, s);
  }
  return s;
}

export async function createSileroVad(o: SileroOptions = {}): Promise<VoiceActivityDetector> {
  const threshold = o.threshold ?? 0.5;
  const offThreshold = Math.max(threshold - HYSTERESIS, threshold / 2);
  const session = await loadSession(o.modelPath ?? defaultSileroModelPath());
  const sr = new ort.Tensor("int64", BigInt64Array.from([16000n]), []);
  let warned = false;

  return {
    label: `silero(v5,threshold=${threshold})`,
    open(): VadStream {
      /** Context (64) + window (512) being filled at 16 kHz, as floats in −1..1. */
      const buf = new Float32Array(CONTEXT + WINDOW);
      let fill = 0;
      let prev = 0; // last 8 kHz sample of the previous frame, for interpolation across frames
      let state: ort.Tensor = new ort.Tensor("float32", new Float32Array(2 * 128), [2, 1, 128]);
      let speaking = false;
      let closed = false;

      const infer = (input: Float32Array) => {
        queue = queue.then(async () => {
          if (closed) return;
          try {
            const out = await session.run({ input: new ort.Tensor("float32", input, [1, input.length]), state, sr });
            state = out.stateN!;
            const p = (out.output!.data as Float32Array)[0]!;
            speaking = p >= (speaking ? offThreshold : threshold);
          } catch (err) {
            if (!warned) o.log?.warn({ err }, "silero inference failed");
            warned = true;
          }
        });
      };

      const put = (v: number) => {
        buf[CONTEXT + fill++] = v;
        if (fill < WINDOW) return;
        infer(buf.slice()); // the run is queued: it needs its own copy
        buf.copyWithin(0, WINDOW, WINDOW + CONTEXT); // last 64 samples become the next context
        fill = 0;
      };

      return {
        isSpeech(pcm8k: Int16Array): boolean {
          if (closed) return false;
          const n = Math.min(pcm8k.length, FRAME_8K);
          for (let i = 0; i < n; i++) {
            const s = pcm8k[i]! / 32768;
            put((prev + s) / 2);
            put(s);
            prev = s;
          }
          return speaking;
        },
        close(): void {
          closed = true;
        },
      };
    },
  };
}
