import type { RealtimeConfig } from "./config";
import { createOpenAiRealtime } from "./openai-realtime";
import type { RealtimeModel } from "./types";

/** The realtime model from config. The only place a provider is named. */
export function createRealtimeModel(c: RealtimeConfig): RealtimeModel {
  switch (c.REALTIME_PROVIDER) {
    case "openai":
      return createOpenAiRealtime({
        url: c.REALTIME_URL,
        model: c.REALTIME_MODEL,
        voice: c.REALTIME_VOICE,
        apiKey: c.REALTIME_API_KEY,
        authHeader: c.REALTIME_AUTH_HEADER,
        shape: c.REALTIME_API_SHAPE,
        vad: {
          type: c.REALTIME_VAD,
          threshold: c.REALTIME_VAD_THRESHOLD,
          prefixPaddingMs: c.REALTIME_VAD_PREFIX_MS,
          silenceDurationMs: c.REALTIME_VAD_SILENCE_MS,
        },
        transcribeModel: c.REALTIME_TRANSCRIBE_MODEL,
        connectTimeoutMs: c.REALTIME_CONNECT_TIMEOUT_MS,
      });
  }
}
