import { errorReason, safeError, vendorMessage } from "@voicecall/log";
import { ProviderError, statusError } from "@voicecall/runtime";
import { sseData } from "./sse";
import { type ChatRequest, type LanguageModel, type LlmChunk } from "./types";

export interface OpenAiOptions {
  /** e.g. `https://api.openai.com/v1`, `http://ollama:11434/v1`, `http://llama:8080/v1`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Clock for the warm-connection window (tests). */
  now?: () => number;
}

/**
 * A warmup answered (and read to the end) within this long left its connection idle in fetch's pool
 * (undici keeps idle ones 4 s, Node's server 5 s), so another one then is a GET /models for nothing.
 * Warmups run once per call: 2.5 % of the agent's CPU at 20 bench calls, created within a second or two.
 */
export const WARM_WINDOW_MS = 1000;

interface Delta {
  content?: string | null;
  tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
}

/**
 * OpenAI-compatible streaming chat completions (`POST {baseUrl}/chat/completions`, `stream: true`)
 * with function tools. Works with OpenAI, Ollama, vLLM and llama.cpp server. Tool-call argument
 * fragments are gathered per `index` and emitted whole when the stream finishes.
 */
export class OpenAiModel implements LanguageModel {
  readonly label: string;
  private readonly base: string;
  private readonly now: () => number;
  /** When a warmup was last answered (−∞: never). */
  private lastWarm = -Infinity;
  constructor(private readonly o: OpenAiOptions) {
    this.base = o.baseUrl.replace(/\/+$/, "");
    this.label = `openai:${o.model}`;
    this.now = o.now ?? Date.now;
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
    if (this.o.apiKey) h.authorization = `Bearer ${this.o.apiKey}`;
    return h;
  }

  /** A cheap request that leaves a kept-alive connection (TCP + TLS) in fetch's pool. */
  async warmup(): Promise<void> {
    if (this.now() - this.lastWarm < WARM_WINDOW_MS) return;
    try {
      const r = await fetch(`${this.base}/models`, { headers: this.headers(), signal: AbortSignal.timeout(5000) });
      await r.arrayBuffer();
      this.lastWarm = this.now();
    } catch {
      // Warming is best effort: the first turn connects on its own.
    }
  }

  async *chat(req: ChatRequest): AsyncGenerator<LlmChunk> {
    const body = {
      model: this.o.model,
      stream: true,
      messages: req.messages,
      ...(req.tools.length
        ? {
            tools: req.tools.map((t) => ({
              type: "function",
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
          }
        : {}),
    };
    let res: Response;
    try {
      res = await fetch(`${this.base}/chat/completions`, {
        method: "POST",
        headers: this.headers(),
        body: JSON.stringify(body),
        signal: req.signal,
      });
    } catch (err) {
      if (req.signal.aborted) throw err;
      // The vendor's error, never fetch's: only what is safe to log (the key is in our request headers).
      throw new ProviderError(`llm unreachable: ${errorReason(err)}`, true, { kind: "network", cause: safeError(err) });
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      throw statusError("llm", res.status, vendorMessage(text, [this.o.apiKey]));
    }
    const calls = new Map<number, { name: string; args: string }>();
    for await (const data of sseData(res.body)) {
      if (data.trim() === "[DONE]") break;
      let parsed: { choices?: { delta?: Delta }[]; error?: { message?: string } };
      try {
        parsed = JSON.parse(data);
      } catch {
        continue;
      }
      if (parsed.error)
        throw new ProviderError(
          `llm stream error: ${vendorMessage(parsed.error.message ?? "unknown", [this.o.apiKey])}`,
          false,
        );
      const delta = parsed.choices?.[0]?.delta;
      if (!delta) continue;
      if (delta.content) yield { type: "text", text: delta.content };
      for (const tc of delta.tool_calls ?? []) {
        const i = tc.index ?? 0;
        const cur = calls.get(i) ?? { name: "", args: "" };
        if (tc.function?.name) cur.name += tc.function.name;
        if (tc.function?.arguments) cur.args += tc.function.arguments;
        calls.set(i, cur);
      }
    }
    for (const [, c] of [...calls].sort(([a], [b]) => a - b)) {
      if (!c.name) continue;
      let args: Record<string, unknown> = {};
      try {
        args = c.args.trim() ? (JSON.parse(c.args) as Record<string, unknown>) : {};
      } catch {
        // A model that emits broken JSON still asked for the tool; run it without arguments.
      }
      yield { type: "tool_call", name: c.name, args };
    }
  }
}
