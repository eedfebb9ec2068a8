import { callTools } from "@voicecall/contracts";
import type { RealtimeTool } from "./types";

/** The tools the model is offered: one list for every engine (libs/contracts). */
export const realtimeTools: RealtimeTool[] = [...callTools];

export type ToolAction =
  | { kind: "hangup"; reason: string }
  | { kind: "transfer"; to: string }
  | { kind: "digits"; digits: string }
  | { kind: "refused"; why: string };

/** What a function call from the model asks for; malformed calls are refused with a reason the model reads. */
export function toolAction(name: string, args: Record<string, unknown>): ToolAction {
  switch (name) {
    case "end_call":
      return {
        kind: "hangup",
        reason:
          typeof args.reason === "string" && args.reason ? `agent:${args.reason.slice(0, 100)}` : "agent-end-call",
      };
    case "transfer_call":
      return typeof args.to === "string" && /^(\+[1-9]\d{6,14}|sip:[^\s]{3,200}|client:[\w.-]{1,64})$/.test(args.to)
        ? { kind: "transfer", to: args.to }
        : { kind: "refused", why: "transfer_call needs `to` as an E.164 number, e.g. +14155550100" };
    case "send_digits":
      return typeof args.digits === "string" && /^[0-9*#A-Dw]{1,32}$/.test(args.digits)
        ? { kind: "digits", digits: args.digits }
        : { kind: "refused", why: "send_digits needs `digits` of 0-9, *, #, A-D or w (at most 32)" };
    default:
      return { kind: "refused", why: `no tool named ${name.slice(0, 40)}` };
  }
}

/** The text a DTMF key press reaches the model as (the pipeline's agent uses the same words). */
export const dtmfText = (digit: string): string => `The caller pressed key ${digit}.`;

/** Instructions for responses the bridge asks for itself. */
export const prompts = {
  greeting: (text: string) => `Say exactly this to the caller, word for word, and nothing else: "${text}"`,
  reprompt: "The caller has been silent for a while. Briefly and politely ask whether they are still there.",
  goodbye: "The caller is still silent. Say a short, polite goodbye; the call ends after it.",
};
