import { z } from "zod";
import { fields } from "@voicecall/config";

/**
 * Environment fields of the realtime (speech-to-speech) engine, merged into media's config. Used only by
 * calls whose record says `engine: realtime` (per call in `POST /api/calls`, default `VOICE_ENGINE` in the gateway).
 */
export const realtimeConfigSchema = z.object({
  /** Which realtime protocol the model speaks (one provider file each, chosen in `realtime/factory.ts`). */
  REALTIME_PROVIDER: z
    .enum(["openai"])
    .default("openai")
    .describe("openai (OpenAI Realtime protocol: OpenAI, Azure OpenAI, compatible servers)"),
  /** The model's WebSocket; `?model=` is added from REALTIME_MODEL unless the URL has one. */
  REALTIME_URL: z
    .string()
    .regex(/^wss?:\/\/[^\s]+$/, "must be ws:// or wss://")
    .default("wss://api.openai.com/v1/realtime")
    .describe("e.g. wss://api.openai.com/v1/realtime"),
  /** `ga`: the current Realtime API (`audio/pcmu`, `response.output_audio.delta`); `beta`: the older shape (`g711_ulaw`), e.g. Azure's preview. */
  REALTIME_API_SHAPE: z.enum(["ga", "beta"]).default("ga").describe("ga|beta"),
  REALTIME_MODEL: z.string().min(1).default("gpt-realtime").describe("e.g. gpt-realtime"),
  REALTIME_VOICE: z
    .string()
    .regex(/^[a-z0-9_-]{1,32}$/i, "must be a voice name")
    .default("alloy")
    .describe("e.g. alloy, marin"),
  /** Sent as `Authorization: Bearer …` (or `api-key: …` with REALTIME_AUTH_HEADER=api-key); never logged. */
  REALTIME_API_KEY: z.string().min(1).optional().describe("e.g. your OpenAI API key"),
  REALTIME_AUTH_HEADER: z.enum(["bearer", "api-key"]).default("bearer").describe("bearer|api-key (Azure)"),
  /** The system prompt; a call's `agent.systemPrompt` replaces it. */
  REALTIME_INSTRUCTIONS: z
    .string()
    .min(1)
    .max(20_000)
    .default(
      "You are a helpful phone assistant. Keep answers short and spoken: one or two sentences. Use the tools to end, transfer or press keys.",
    )
    .describe("the system prompt"),
  /** The model's turn detection (its VAD decides when the caller started and stopped). */
  REALTIME_VAD: z.enum(["server_vad", "semantic_vad"]).default("server_vad").describe("server_vad|semantic_vad"),
  REALTIME_VAD_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5).describe("0..1, e.g. 0.5 (server_vad)"),
  REALTIME_VAD_PREFIX_MS: fields.ms(300),
  REALTIME_VAD_SILENCE_MS: fields.ms(500),
  /** Transcription of the caller's audio (for the call's transcript); empty = the vendor's default. */
  REALTIME_TRANSCRIBE_MODEL: z
    .string()
    .min(1)
    .default("gpt-4o-mini-transcribe")
    .describe("e.g. gpt-4o-mini-transcribe, whisper-1"),
  REALTIME_CONNECT_TIMEOUT_MS: fields.ms(5000),
  /** No caller speech this long after the model finished → a re-prompt; again → goodbye and hang up. 0 = off. */
  REALTIME_SILENCE_REPROMPT_MS: fields.ms(8000),
  /** Said in the local voice (tts) when the model is gone for good, before the hang-up. */
  REALTIME_APOLOGY: z
    .string()
    .min(1)
    .max(500)
    .default("Sorry, I am having technical trouble and have to end the call. Please call again later. Goodbye.")
    .describe("a short sentence"),
  /** After the model's last words (end_call, transfer, apology), hang up even if the mark never echoes. */
  REALTIME_ACTION_TIMEOUT_MS: fields.ms(10_000),
});

export type RealtimeConfig = z.infer<typeof realtimeConfigSchema>;
