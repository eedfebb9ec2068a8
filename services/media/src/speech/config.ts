import { z } from "zod";
import { fields } from "@voicecall/config";

/**
 * Environment fields of the speech-in side of the media service. The service's `config.ts` merges
 * this piece: `z.object({...commonFields, ...own}).merge(speechConfigSchema)` (a plain ZodObject so it
 * merges; the DEEPGRAM_API_KEY-when-deepgram rule is checked by `createSpeechPipelineFactory`).
 */
export const speechConfigSchema = z.object({
  /** Voice activity detector: WebRTC (libfvad WASM, 8 kHz) or Silero v5 (ONNX on onnxruntime-web WASM, 16 kHz). */
  VAD_PROVIDER: z.enum(["webrtc", "silero"]).default("webrtc").describe("webrtc|silero"),
  /** WebRTC VAD aggressiveness 0 (least) … 3 (most eager to call a frame non-speech). */
  VAD_MODE: z.coerce.number().int().min(0).max(3).default(3).describe("0..3, e.g. 3"),
  /** Silero speech probability (0..1) at which a frame counts as speech (VAD_PROVIDER=silero). */
  SILERO_THRESHOLD: z.coerce.number().min(0.05).max(0.95).default(0.5).describe("0.05..0.95, e.g. 0.5"),
  /** Voiced audio needed before `speech.started` (ms). */
  VAD_ON_MS: fields.ms(100),
  /** Unvoiced gap tolerated while counting `VAD_ON_MS` (ms): a short dip does not restart the onset. */
  VAD_HANG_MS: fields.ms(60),
  /** Silence that ends an utterance: `speech.stopped` + final transcript (ms). */
  ENDPOINT_SILENCE_MS: fields.ms(600),
  /** An utterance longer than this is cut and decoded anyway (ms). */
  MAX_UTTERANCE_MS: fields.ms(30_000),
  STT_PROVIDER: z.enum(["pocketsphinx", "deepgram"]).default("pocketsphinx").describe("pocketsphinx|deepgram"),
  /** Path to a JSGF grammar file; recognition is constrained to it (pocketsphinx). Unset = open vocabulary. */
  STT_GRAMMAR: z.string().min(1).optional().describe("e.g. /etc/voicecall/agent.gram"),
  /** Path to the agent's dialogue script (default: the built-in demo), source of the grammar below. */
  AGENT_SCRIPT: z.string().min(1).optional().describe("e.g. /etc/voicecall/script.yaml"),
  /**
   * `script`: pocketsphinx recognises the dialogue script's phrases (near-exact offline, right for the
   * built-in agent); `open`: open vocabulary (best effort, for an LLM agent). Ignored with STT_GRAMMAR.
   */
  STT_VOCABULARY: z
    .enum(["script", "open"])
    .default("script")
    .describe("script|open: set open when LLM_PROVIDER is not builtin"),
  POCKETSPHINX_MODEL_DIR: z
    .string()
    .min(1)
    .default("/usr/share/pocketsphinx/model/en-us")
    .describe("e.g. /usr/share/pocketsphinx/model/en-us"),
  /**
   * Open vocabulary: rate the second opinion's hearing against the murmur sink (its `confidence`). false: the rule
   * reads only its text (the confidence did not separate a real "stop" from a door heard as one, fourth pass in
   * docs/performance.md), and the rating is a second decode (~60 % of the first) for every hearing outside the
   * sink's sounds ("yeah", "yes", "okay", interruptions) on the check a paused reply waits on. true: report it.
   */
  STT_SECOND_OPINION_RATED: fields.bool.default("false"),
  /**
   * Open vocabulary with the barge-in second opinion: the nice (0..19, 0 = unchanged) of the pocketsphinx thread
   * that does the n-gram decodes. 10: those decodes (0.15–3 s each) only make the idle turn's text, while the
   * second opinion's grammar decode (13–76 ms) on its own thread decides whether a paused reply resumes within
   * 300 ms; with both runnable on one core, CFS gives a nice-10 thread 110/1134 of it (nice 0: half), so the check
   * and the services' event loops win the core. Raising a thread's own nice needs no privilege; where it is
   * refused, or on a system without Linux thread ids, it is logged once and the thread keeps its priority.
   */
  STT_NGRAM_NICE: z.coerce.number().int().min(0).max(19).default(10).describe("0..19, e.g. 10"),
  /** RMS (0..1) of white noise added before decoding; 0 = off. See README for the measurement. */
  STT_NOISE_RMS: z.coerce.number().min(0).max(0.1).default(0.0005).describe("e.g. 0.0005"),
  DEEPGRAM_API_KEY: z.string().min(1).optional().describe("e.g. your Deepgram API key"),
  DEEPGRAM_URL: z
    .string()
    .regex(/^wss?:\/\/.+/, "must be ws:// or wss://")
    .default("wss://api.deepgram.com/v1/listen")
    .describe("e.g. wss://api.deepgram.com/v1/listen"),
  DEEPGRAM_MODEL: z.string().min(1).optional().describe("e.g. nova-3"),
});

/** The parsed speech config. */
export type SpeechConfig = z.infer<typeof speechConfigSchema>;
