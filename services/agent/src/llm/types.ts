/** A message of the conversation history, in the shape every chat model understands. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A function the model may call; `parameters` is a JSON Schema object. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** What a model streams: spoken-to-be text (raw, may hold markdown/reasoning) or a complete tool call. */
export type LlmChunk =
  { type: "text"; text: string } | { type: "tool_call"; name: string; args: Record<string, unknown> };

export interface ChatRequest {
  messages: ChatMessage[];
  tools: ToolSpec[];
  signal: AbortSignal;
}

/** One provider per file; the factory alone knows their names. */
export interface LanguageModel {
  readonly label: string;
  chat(req: ChatRequest): AsyncIterable<LlmChunk>;
  /** Open the connection ahead of the first turn (while the phone rings). Never throws. */
  warmup?(): Promise<void>;
}

/** How caller key presses reach the model as input text. */
export const dtmfInput = (digit: string): string => `The caller pressed key ${digit}.`;
export const DTMF_INPUT = /^The caller pressed key ([0-9*#A-D])\.$/;
