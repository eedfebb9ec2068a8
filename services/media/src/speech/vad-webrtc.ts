import fvad from "@echogarden/fvad-wasm";
import type { VadStream, VoiceActivityDetector } from "./types";

/** The parts of the Emscripten module of libfvad that we use. */
interface FvadModule {
  HEAP16: Int16Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _fvad_new(): number;
  _fvad_free(inst: number): void;
  _fvad_set_mode(inst: number, mode: number): number;
  _fvad_set_sample_rate(inst: number, rate: number): number;
  _fvad_process(inst: number, frame: number, samples: number): number;
}

const FRAME_SAMPLES = 160; // 20 ms at 8 kHz
let shared: Promise<FvadModule> | undefined;

/** One WASM instance per worker (process or thread): streams share it and keep their own VAD state. */
function loadModule(): Promise<FvadModule> {
  shared ??= (fvad as unknown as () => Promise<FvadModule>)();
  return shared;
}

/**
 * WebRTC VAD (libfvad compiled to WASM) on 8 kHz, 20 ms frames. `mode` 0..3: higher is more
 * aggressive about calling a frame non-speech (3 suits phone lines with noise).
 */
export async function createWebrtcVad(o: { mode?: number } = {}): Promise<VoiceActivityDetector> {
  const mod = await loadModule();
  const mode = o.mode ?? 3;
  return {
    label: `webrtc(mode=${mode})`,
    open(): VadStream {
      const inst = mod._fvad_new();
      if (!inst) throw new Error("fvad_new failed");
      if (mod._fvad_set_mode(inst, mode) !== 0 || mod._fvad_set_sample_rate(inst, 8000) !== 0) {
        mod._fvad_free(inst);
        throw new Error("fvad configuration rejected");
      }
      const buf = mod._malloc(FRAME_SAMPLES * 2);
      let closed = false;
      return {
        isSpeech(pcm8k: Int16Array): boolean {
          if (closed) return false;
          // HEAP16 is re-created when WASM memory grows: read it at each call, never cache it.
          const heap = mod.HEAP16;
          const at = buf >> 1;
          if (pcm8k.length >= FRAME_SAMPLES) heap.set(pcm8k.subarray(0, FRAME_SAMPLES), at);
          else {
            heap.fill(0, at, at + FRAME_SAMPLES);
            heap.set(pcm8k, at);
          }
          return mod._fvad_process(inst, buf, FRAME_SAMPLES) === 1;
        },
        close(): void {
          if (closed) return;
          closed = true;
          mod._fvad_free(inst);
          mod._free(buf);
        },
      };
    },
  };
}
