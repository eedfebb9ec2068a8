import type { Logger } from "@voicecall/log";
import { isAbort, resilientStream } from "@voicecall/runtime";
import type { ChatRequest, LanguageModel, LlmChunk } from "./types";

export interface ResilienceOptions {
  /** Wait at most this long for the first chunk of an attempt, and between chunks after it. */
  timeoutMs: number;
  /** Extra attempts after a retryable failure, only while nothing has been streamed yet. */
  retries: number;
  log: Logger;
}

/**
 * Any model behind the shared provider policy (libs/runtime). Once a chunk has been yielded an error
 * is final: repeating would say the same words twice. A turn the agent aborted ends quietly.
 */
export function resilient(inner: LanguageModel, o: ResilienceOptions): LanguageModel {
  return {
    label: inner.label,
    warmup: inner.warmup ? () => inner.warmup!().catch(() => undefined) : undefined,
    async *chat(req: ChatRequest): AsyncGenerator<LlmChunk> {
      const policy = {
        firstChunkTimeoutMs: o.timeoutMs,
        idleTimeoutMs: o.timeoutMs,
        retries: o.retries,
        backoffMs: 200,
      };
      try {
        yield* resilientStream((signal) => inner.chat({ ...req, signal }), policy, {
          signal: req.signal,
          label: "llm",
          onRetry: (attempt, err) =>
            o.log.warn({ attempt, model: inner.label, err: err.message }, "llm attempt failed, retrying"),
        });
      } catch (err) {
        if (req.signal.aborted && isAbort(err)) return;
        throw err;
      }
    },
  };
}
