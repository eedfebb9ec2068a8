import type { Purpose } from "@voicecall/contracts";
import { agentTools } from "./llm/tools";
import type { ChatMessage, LanguageModel } from "./llm/types";
import { SentenceSplitter } from "./sentences";

/**
 * One line the agent said (a `say` we published, its `utteranceId` on the wire) and what became of it:
 * the ledger sets `played` or `cut`. Not the caller's speech (media's "utterance" is a VAD-cut turn).
 */
export interface SaidLine {
  id: string;
  text: string;
  purpose: Purpose;
  turn?: Turn;
  /** Its done mark came back: the caller heard all of it. */
  played?: boolean;
  /** Set when barge-in cut it: the words the caller heard. */
  cut?: string;
}

/** One answer to one caller input; its generation fences it against newer turns. */
export interface Turn {
  generation: number;
  /** Epoch ms the caller's input arrived. */
  startedAt: number;
  ac: AbortController;
  /** Lines said for this turn, in order. */
  said: SaidLine[];
  /** This turn's assistant message in the history (created at its first sentence). */
  msg?: ChatMessage;
  finished: boolean;
  /** A newer turn began: unplayed sentences of this one will never be heard. */
  superseded?: boolean;
}

export type ToolCall = { name: string; args: Record<string, unknown> };

/**
 * Stream the model's answer: each finished sentence goes to `onSentence` at once (the last one with
 * `endOfTurn`); tool calls are collected and returned for after the text. Stops quietly as soon as
 * `stale()` says a newer turn took over; model errors propagate.
 */
export async function streamReply(
  model: LanguageModel,
  messages: ChatMessage[],
  signal: AbortSignal,
  stale: () => boolean,
  onSentence: (text: string, endOfTurn: boolean) => void,
): Promise<ToolCall[] | null> {
  const splitter = new SentenceSplitter();
  const tools: ToolCall[] = [];
  for await (const c of model.chat({ messages, tools: agentTools, signal })) {
    if (stale()) return null;
    if (c.type === "text") for (const s of splitter.push(c.text)) onSentence(s, false);
    else tools.push({ name: c.name, args: c.args });
  }
  if (stale()) return null;
  const rest = splitter.flush();
  rest.forEach((s, i) => onSentence(s, i === rest.length - 1));
  return tools;
}
