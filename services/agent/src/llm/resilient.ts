import type { Logger } from "@voicecall/log";
import { LlmError, type ChatRequest, type LanguageModel, type LlmChunk } from "./types";

export interface ResilienceOptions {
  /** Wait at most this long for the first chunk of an attempt, and between chunks after it. */
  timeoutMs: number;
  /** Extra attempts after a retryable failure, only while nothing has been streamed yet. */
  retries: number;
  log: Logger;
}

/**
 * The one place for retries and timeouts, around any provider. Once a chunk has been yielded an
 * error is final: repeating would say the same words twice.
 */
export function resilient(inner: LanguageModel, o: ResilienceOptions): LanguageModel {
  return {
    label: inner.label,
    warmup: inner.warmup ? () => inner.warmup!().catch(() => undefined) : undefined,
    async *chat(req: ChatRequest): AsyncGenerator<LlmChunk> {
      for (let attempt = 0; ; attempt++) {
        const ac = new AbortController();
        const onAbort = () => ac.abort(req.signal.reason);
        req.signal.addEventListener("abort", onAbort, { once: true });
        let timedOut = false;
        let timer: NodeJS.Timeout | undefined;
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            timedOut = true;
            ac.abort(new LlmError("llm timeout", true));
          }, o.timeoutMs);
        };
        arm();
        let streamed = false;
        try {
          for await (const chunk of inner.chat({ ...req, signal: ac.signal })) {
            streamed = true;
            yield chunk;
            arm();
          }
          return;
        } catch (err) {
          if (req.signal.aborted) return;
          const retryable = timedOut || (err instanceof LlmError && err.retryable);
          if (streamed || !retryable || attempt >= o.retries) throw err;
          o.log.warn({ attempt, model: inner.label, err: (err as Error).message }, "llm attempt failed, retrying");
          await new Promise((r) => setTimeout(r, Math.min(2000, 200 * 2 ** attempt)));
        } finally {
          clearTimeout(timer);
          req.signal.removeEventListener("abort", onAbort);
        }
      }
    },
  };
}
