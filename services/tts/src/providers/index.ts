import type { ProviderName, TtsConfig } from "../config";
import { ElevenLabsTts } from "./elevenlabs";
import { FallbackTts } from "./fallback";
import { LocalTts } from "./local";
import { OpenAiTts } from "./openai";
import { ResilientTts } from "./resilient";
import type { TextToSpeech } from "./types";

export type { TextToSpeech, TtsCapabilities, TtsFailure, SynthesizeOptions } from "./types";
export { ProviderError } from "@voicecall/runtime";
export { LocalTts, sentences, type LocalEngine } from "./local";
export { ElevenLabsTts } from "./elevenlabs";
export { OpenAiTts } from "./openai";
export { FallbackTts } from "./fallback";
export { ResilientTts, type ResilienceOptions } from "./resilient";

type ProviderConfig = Pick<
  TtsConfig,
  | "LOCAL_TTS_ENGINE"
  | "LOCAL_TTS_VOICE"
  | "ELEVENLABS_API_KEY"
  | "ELEVENLABS_VOICE_ID"
  | "ELEVENLABS_URL"
  | "ELEVENLABS_MODEL_ID"
  | "OPENAI_API_KEY"
  | "OPENAI_TTS_URL"
  | "OPENAI_TTS_MODEL"
  | "OPENAI_TTS_VOICE"
>;

/** The only place that knows provider names. */
export function createProvider(name: ProviderName, c: ProviderConfig): TextToSpeech {
  switch (name) {
    case "local":
      return new LocalTts({ engine: c.LOCAL_TTS_ENGINE, voice: c.LOCAL_TTS_VOICE });
    case "elevenlabs":
      return new ElevenLabsTts({
        apiKey: c.ELEVENLABS_API_KEY ?? "",
        voiceId: c.ELEVENLABS_VOICE_ID,
        baseUrl: c.ELEVENLABS_URL,
        modelId: c.ELEVENLABS_MODEL_ID,
      });
    case "openai":
      return new OpenAiTts({
        apiKey: c.OPENAI_API_KEY ?? "",
        baseUrl: c.OPENAI_TTS_URL,
        model: c.OPENAI_TTS_MODEL,
        voice: c.OPENAI_TTS_VOICE,
      });
  }
}

type TtsSetup = ProviderConfig &
  Pick<
    TtsConfig,
    "TTS_PROVIDER" | "TTS_FALLBACK_PROVIDER" | "TTS_FIRST_CHUNK_TIMEOUT_MS" | "TTS_IDLE_TIMEOUT_MS" | "TTS_RETRIES"
  >;

/** The configured provider, behind the shared retry/timeout wrapper, with failover to the fallback provider. */
export function createTts(c: TtsSetup): TextToSpeech {
  const wrap = (p: TextToSpeech) =>
    new ResilientTts(p, {
      firstChunkTimeoutMs: c.TTS_FIRST_CHUNK_TIMEOUT_MS,
      idleTimeoutMs: c.TTS_IDLE_TIMEOUT_MS,
      retries: c.TTS_RETRIES,
      backoffMs: 100,
    });
  const primary = wrap(createProvider(c.TTS_PROVIDER, c));
  if (c.TTS_FALLBACK_PROVIDER === "none" || c.TTS_FALLBACK_PROVIDER === c.TTS_PROVIDER) return primary;
  return new FallbackTts(primary, wrap(createProvider(c.TTS_FALLBACK_PROVIDER, c)));
}
