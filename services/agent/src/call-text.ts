import type { CallRecord, TranscriptEntry } from "@voicecall/contracts";
import type { DialogueScript } from "@voicecall/dialogue";
import type { ChatMessage } from "./llm/types";

export const DEFAULT_SYSTEM_PROMPT =
  "You are a friendly voice agent on a phone call. Answer in one or two short spoken sentences: plain words, " +
  "no lists, no markdown, no emojis. Use end_call after saying goodbye, transfer_call when the caller asks for a person, " +
  "send_digits to press keys in a phone menu.";

/** A message that must be heard: pending until the done mark of one of its plays. */
export type MustHear = { kind: "greeting" | "notify" | "voicemail"; text: string };

/** Greeting (conversation: the call's, else the script's) or notify message (the call's); none if absent. */
export function mustHearMessage(call: CallRecord, script: DialogueScript): MustHear | undefined {
  if (call.mode === "notify") return call.greeting ? { kind: "notify", text: call.greeting } : undefined;
  return { kind: "greeting", text: call.greeting ?? script.greeting };
}

/** The call's own voicemail text, else VOICEMAIL_MESSAGE, else (notify) the message itself, else the script's. */
export function voicemailText(call: CallRecord, configured: string | undefined, script: DialogueScript): string {
  return (
    call.voicemailMessage ?? configured ?? (call.mode === "notify" ? call.greeting : undefined) ?? script.voicemail
  );
}

/** `agentOptions.systemPrompt` given at call creation, else the default. */
export function systemPrompt(call: CallRecord | undefined): string {
  try {
    const o = call?.agentOptions ? (JSON.parse(call.agentOptions) as { systemPrompt?: unknown }) : {};
    if (typeof o.systemPrompt === "string" && o.systemPrompt) return o.systemPrompt;
  } catch {
    // Malformed options were accepted at creation; the default prompt still works.
  }
  return DEFAULT_SYSTEM_PROMPT;
}

/**
 * False when the call was placed with `agent.replies: false` (e.g. by `voicecall mcp`): another agent
 * leads it through the API (`say`, `continue`); this one records the caller's words and stays quiet.
 */
export function agentReplies(call: CallRecord | undefined): boolean {
  try {
    return !(call?.agentOptions && (JSON.parse(call.agentOptions) as { replies?: unknown }).replies === false);
  } catch {
    return true;
  }
}

/** Rebuild the model's history from the call's transcript (a new owner continues the conversation). */
export function historyFromTranscript(entries: TranscriptEntry[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const t of entries) {
    const role = t.role === "caller" ? "user" : t.role === "agent" ? "assistant" : undefined;
    if (!role) continue;
    const last = out.at(-1);
    if (last?.role === role) last.content += ` ${t.text}`;
    else out.push({ role, content: t.text });
  }
  return out;
}
