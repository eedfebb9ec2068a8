import { describe, expect, it } from "vitest";
import { loadScript } from "@voicecall/dialogue";
import { BuiltinModel } from "./builtin";
import { agentTools } from "./tools";
import { dtmfInput, type ChatMessage, type LlmChunk } from "./types";

const script = loadScript();
const model = new BuiltinModel(script);
async function answer(messages: ChatMessage[]): Promise<LlmChunk[]> {
  const out: LlmChunk[] = [];
  for await (const c of model.chat({ messages, tools: agentTools, signal: new AbortController().signal })) out.push(c);
  return out;
}
const user = (content: string): ChatMessage => ({ role: "user", content });
const agent = (content: string): ChatMessage => ({ role: "assistant", content });
const reply = (name: string) => script.intents.find((i) => i.name === name)!.reply;

describe("BuiltinModel", () => {
  it("answers from the script, deterministically, with the fallback when nothing matches", async () => {
    expect(await answer([agent(script.greeting), user("when are you open")])).toEqual([
      { type: "text", text: reply("hours") },
    ]);
    expect(await answer([user("purple elephants")])).toEqual([{ type: "text", text: script.fallback }]);
  });

  it("reads follow-up state back from the history, even from a cut reply", async () => {
    expect(await answer([agent(reply("book")), user("yes")])).toEqual([{ type: "text", text: reply("book_yes") }]);
    expect(await answer([agent(reply("book").slice(0, 25)), user("yes")])).toEqual([
      { type: "text", text: reply("book_yes") },
    ]);
  });

  it("emits tool calls for actions and takes DTMF input", async () => {
    expect((await answer([user("talk to a person")])).at(-1)).toEqual({
      type: "tool_call",
      name: "transfer_call",
      args: { to: "+14155550100" },
    });
    expect((await answer([user("goodbye")])).at(-1)).toEqual({
      type: "tool_call",
      name: "end_call",
      args: { reason: "goodbye" },
    });
    expect(await answer([user(dtmfInput("1"))])).toEqual([{ type: "text", text: reply("hours") }]);
  });
});
