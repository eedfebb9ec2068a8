import { z } from "zod";
import { ConfigError, commonFields, fields, parseConfig } from "@voicecall/config";

const provider = z.enum(["local", "elevenlabs", "openai"]);
export type ProviderName = z.infer<typeof provider>;

/** Environment of the tts service. Names are the shared ones from the brief, plus tuning knobs with defaults. */
export const TtsConfigSchema = z.object({
  ...commonFields,
  PORT: fields.port(8081),
  TTS_PROVIDER: provider.default("local").describe("e.g. local, elevenlabs or openai"),
  /** Who speaks when the vendor fails; `none` turns fallback off. Ignored when equal to TTS_PROVIDER. */
  TTS_FALLBACK_PROVIDER: z
    .enum(["local", "elevenlabs", "openai", "none"])
    .default("local")
    .describe("e.g. local or none"),
  LOCAL_TTS_ENGINE: z.enum(["flite", "espeak-ng"]).default("flite").describe("e.g. flite or espeak-ng"),
  /** flite voice (slt, rms, kal16, awb) or espeak-ng voice (en-us); default per engine. */
  LOCAL_TTS_VOICE: z.string().min(1).optional().describe("e.g. slt"),
  ELEVENLABS_API_KEY: z.string().min(1).optional().describe("e.g. sk_…"),
  ELEVENLABS_VOICE_ID: z.string().min(1).default("21m00Tcm4TlvDq8ikWAM").describe("e.g. 21m00Tcm4TlvDq8ikWAM"),
  ELEVENLABS_URL: z.string().url().default("https://api.elevenlabs.io").describe("e.g. https://api.elevenlabs.io"),
  ELEVENLABS_MODEL_ID: z.string().min(1).default("eleven_flash_v2_5").describe("e.g. eleven_flash_v2_5"),
  OPENAI_API_KEY: z.string().min(1).optional().describe("e.g. sk-…"),
  OPENAI_TTS_URL: z.string().url().default("https://api.openai.com").describe("e.g. https://api.openai.com"),
  OPENAI_TTS_MODEL: z.string().min(1).default("gpt-4o-mini-tts").describe("e.g. tts-1"),
  OPENAI_TTS_VOICE: z.string().min(1).default("alloy").describe("e.g. alloy"),
  /** Phrase cache lifetime (greeting pre-renders and repeated phrases). */
  TTS_CACHE_TTL_MS: fields.ms(24 * 3600_000),
  /** Texts longer than this are not cached (one-off replies). */
  TTS_CACHE_MAX_CHARS: z.coerce.number().int().nonnegative().default(600),
  TTS_FIRST_CHUNK_TIMEOUT_MS: fields.ms(4000),
  TTS_IDLE_TIMEOUT_MS: fields.ms(5000),
  TTS_RETRIES: z.coerce.number().int().min(0).max(5).default(1),
});
export type TtsConfig = z.infer<typeof TtsConfigSchema>;

/** Parse and check that a vendor in use has its key; throws `ConfigError` naming the variable. */
export function parseTtsConfig(env: Record<string, string | undefined>): Readonly<TtsConfig> {
  const c = parseConfig(TtsConfigSchema, env);
  const used = new Set<string>([c.TTS_PROVIDER, c.TTS_FALLBACK_PROVIDER]);
  for (const [name, key] of [
    ["elevenlabs", "ELEVENLABS_API_KEY"],
    ["openai", "OPENAI_API_KEY"],
  ] as const)
    if (used.has(name) && !c[key])
      throw new ConfigError(`config: ${key} is unset: required when ${name} is the provider or fallback`, key);
  return c;
}
