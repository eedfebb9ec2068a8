import { readFile } from "node:fs/promises";
import { ConfigError } from "@voicecall/config";
import type { Logger } from "@voicecall/log";
import type { SpeechConfig } from "./config";
import { openPipeline } from "./pipeline";
import { createDeepgramStt } from "./stt-deepgram";
import { createPocketsphinxStt } from "./stt-pocketsphinx";
import type { SpeechPipelineFactory, SpeechToText, VoiceActivityDetector } from "./types";
import { createWebrtcVad } from "./vad-webrtc";

export interface SpeechFactoryDeps {
  log?: Logger;
  /** JSGF grammar text (e.g. from libs/dialogue); wins over the STT_GRAMMAR file. */
  grammar?: string;
  /** JSGF of the fixed grammar that second-guesses open-vocabulary decodes over agent speech (pocketsphinx). */
  secondOpinion?: string;
}

/** The worker's speech-in: one VAD module and one STT engine shared by every stream. */
export interface SpeechFactory extends SpeechPipelineFactory {
  readonly vadLabel: string;
  readonly sttLabel: string;
  /** Default grammar for streams opened from now on (undefined = open vocabulary). */
  setGrammar(jsgf: string | undefined): Promise<void>;
  /** Stops shared engines (the pocketsphinx worker thread). Open pipelines stop producing finals. */
  close(): Promise<void>;
}

/** The only place provider names are mapped to implementations. */
async function makeVad(cfg: SpeechConfig, log?: Logger): Promise<VoiceActivityDetector> {
  switch (cfg.VAD_PROVIDER) {
    case "webrtc":
      return createWebrtcVad({ mode: cfg.VAD_MODE });
    case "silero": {
      // Loaded only when chosen: the default Docker image leaves onnxruntime-web (139 MB) out.
      const silero = await import("./vad-silero").catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ERR_MODULE_NOT_FOUND" && !/onnxruntime-web|vad-web/.test(err.message)) throw err;
        throw new ConfigError(
          "config: VAD_PROVIDER=silero needs onnxruntime-web, which this install lacks (Docker: build with --build-arg SILERO=true)",
          "VAD_PROVIDER",
        );
      });
      return silero.createSileroVad({ threshold: cfg.SILERO_THRESHOLD, log });
    }
  }
}

async function makeStt(cfg: SpeechConfig, grammar: string | undefined, secondOpinion?: string, log?: Logger) {
  switch (cfg.STT_PROVIDER) {
    case "pocketsphinx": {
      const stt = await createPocketsphinxStt({
        modelDir: cfg.POCKETSPHINX_MODEL_DIR,
        noiseRms: cfg.STT_NOISE_RMS,
        secondOpinion,
        ngramNice: cfg.STT_NGRAM_NICE,
        secondOpinionRated: cfg.STT_SECOND_OPINION_RATED,
      });
      if (stt.ngramNice && !stt.ngramNice.ok)
        log?.warn(
          { err: stt.ngramNice.error },
          "n-gram decoder thread keeps its priority (STT_NGRAM_NICE not applied)",
        );
      else if (stt.ngramNice)
        log?.info({ tid: stt.ngramNice.tid, nice: stt.ngramNice.nice }, "n-gram decoder thread niced");
      if (grammar) {
        await stt.loadGrammar(grammar); // fail at start, not on the first caller turn
        stt.setDefaultGrammar(grammar);
      }
      return {
        stt: stt as SpeechToText,
        setGrammar: async (g?: string) => (g && (await stt.loadGrammar(g)), stt.setDefaultGrammar(g)),
        close: () => stt.close(),
      };
    }
    case "deepgram": {
      if (!cfg.DEEPGRAM_API_KEY)
        throw new ConfigError(
          "config: DEEPGRAM_API_KEY is unset: is required when STT_PROVIDER=deepgram",
          "DEEPGRAM_API_KEY",
        );
      const stt = createDeepgramStt({
        apiKey: cfg.DEEPGRAM_API_KEY,
        url: cfg.DEEPGRAM_URL,
        model: cfg.DEEPGRAM_MODEL,
        endpointingMs: cfg.ENDPOINT_SILENCE_MS,
        log,
      });
      return { stt, setGrammar: async () => {}, close: async () => {} };
    }
  }
}

/**
 * Build the speech-in side from config. `cfg` may be the media service's whole config (a superset).
 * Loads the VAD WASM and, for pocketsphinx, starts its worker and loads the models (~0.4 s).
 */
export async function createSpeechPipelineFactory(
  cfg: SpeechConfig,
  deps: SpeechFactoryDeps = {},
): Promise<SpeechFactory> {
  const grammar = deps.grammar ?? (cfg.STT_GRAMMAR ? await readFile(cfg.STT_GRAMMAR, "utf8") : undefined);
  const vad = await makeVad(cfg, deps.log);
  const engine = await makeStt(cfg, grammar, deps.secondOpinion, deps.log);
  const endpointer = {
    onMs: cfg.VAD_ON_MS,
    hangMs: cfg.VAD_HANG_MS,
    silenceMs: cfg.ENDPOINT_SILENCE_MS,
    maxMs: cfg.MAX_UTTERANCE_MS,
  };
  deps.log?.info({ vad: vad.label, stt: engine.stt.label, grammar: !!grammar }, "speech pipeline ready");
  return {
    vadLabel: vad.label,
    sttLabel: engine.stt.label,
    open: (o) => openPipeline({ vad, stt: engine.stt, endpointer, log: deps.log }, o),
    setGrammar: engine.setGrammar,
    close: engine.close,
  };
}
