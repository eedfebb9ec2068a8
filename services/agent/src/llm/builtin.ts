import { intentByReply, matchIntent, type DialogueScript } from "@voicecall/dialogue";
import { DTMF_INPUT, type ChatRequest, type LanguageModel, type LlmChunk } from "./types";

/**
 * The offline agent: answers from a dialogue script, deterministically. State (follow-up questions)
 * is read back from the history: the last assistant line names the intent that answered.
 */
export class BuiltinModel implements LanguageModel {
  readonly label = "builtin";
  constructor(private readonly script: DialogueScript) {}

  async *chat(req: ChatRequest): AsyncGenerator<LlmChunk> {
    const lastUser = [...req.messages].reverse().find((m) => m.role === "user");
    const lastAgent = [...req.messages].reverse().find((m) => m.role === "assistant");
    const input = lastUser?.content ?? "";
    const text = DTMF_INPUT.exec(input)?.[1] ?? input;
    const lastIntent = lastAgent ? intentByReply(this.script, lastAgent.content)?.name : undefined;
    const m = matchIntent(this.script, text, { lastIntent });
    if (!m) {
      yield { type: "text", text: this.script.fallback };
      return;
    }
    yield { type: "text", text: m.intent.reply };
    const a = m.intent.action;
    if (!a) return;
    if (a.type === "end_call") yield { type: "tool_call", name: "end_call", args: { reason: m.intent.name } };
    else if (a.type === "transfer") yield { type: "tool_call", name: "transfer_call", args: { to: a.to } };
    else yield { type: "tool_call", name: "send_digits", args: { digits: a.digits } };
  }
}
