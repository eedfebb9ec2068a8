import { z } from "zod";
import { commonFields, fields, parseConfig } from "@voicecall/config";

export const AgentConfigSchema = z.object({
  ...commonFields,
  PORT: fields.port(8082),
  LLM_PROVIDER: z.enum(["builtin", "openai"]).default("builtin"),
  LLM_BASE_URL: z
    .string()
    .url("must be a URL")
    .default("https://api.openai.com/v1")
    .describe("e.g. http://ollama:11434/v1"),
  LLM_API_KEY: z.string().optional().describe("e.g. sk-…; optional for local servers"),
  LLM_MODEL: z.string().min(1).default("gpt-4o-mini").describe("e.g. gpt-4o-mini or llama3.1"),
  /** First token must arrive within this; also bounds each retry attempt's wait. */
  LLM_TIMEOUT_MS: fields.ms(15_000),
  LLM_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  AGENT_SCRIPT: z.string().min(1).optional().describe("e.g. /etc/voicecall/script.yaml"),
  /** Caller silence before a re-prompt; a second silence as long ends the call politely. */
  SILENCE_REPROMPT_MS: fields.ms(8_000),
  VOICEMAIL_MESSAGE: z.string().min(1).optional(),
  /** Agent lease on a call; renewed every third of it. Another instance takes over after it lapses. */
  AGENT_LEASE_MS: fields.ms(6_000),
  /** How often to look for active calls with no live agent. */
  AGENT_SCAN_MS: fields.ms(2_000),
  /** Hang up / transfer anyway if the last utterance's mark has not come back within this. */
  ACTION_MARK_TIMEOUT_MS: fields.ms(30_000),
  /** A say whose first audio chunk has not come within this is sent again (twice at most): tts may have been away. */
  SAY_RETRY_MS: fields.ms(3_000),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;

export const parseAgentConfig = (env: Record<string, string | undefined>): Readonly<AgentConfig> =>
  parseConfig(AgentConfigSchema, env);
