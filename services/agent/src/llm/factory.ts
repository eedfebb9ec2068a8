import type { DialogueScript } from "@voicecall/dialogue";
import type { Logger } from "@voicecall/log";
import type { AgentConfig } from "../config";
import { BuiltinModel } from "./builtin";
import { OpenAiModel } from "./openai";
import { resilient } from "./resilient";
import type { LanguageModel } from "./types";

/** The only place that knows provider names. */
export function createLanguageModel(
  c: Pick<
    AgentConfig,
    "LLM_PROVIDER" | "LLM_BASE_URL" | "LLM_API_KEY" | "LLM_MODEL" | "LLM_TIMEOUT_MS" | "LLM_RETRIES"
  >,
  script: DialogueScript,
  log: Logger,
): LanguageModel {
  const inner: LanguageModel =
    c.LLM_PROVIDER === "openai"
      ? new OpenAiModel({ baseUrl: c.LLM_BASE_URL, model: c.LLM_MODEL, apiKey: c.LLM_API_KEY })
      : new BuiltinModel(script);
  return resilient(inner, { timeoutMs: c.LLM_TIMEOUT_MS, retries: c.LLM_RETRIES, log });
}
