import type { ToolSpec } from "./types";

/** The tools every model is offered; the conversation executes them. */
export const agentTools: ToolSpec[] = [
  {
    name: "end_call",
    description: "Hang up the call after your current sentence has been heard. Say goodbye first.",
    parameters: { type: "object", properties: { reason: { type: "string" } }, additionalProperties: false },
  },
  {
    name: "transfer_call",
    description: "Transfer the caller to a phone number (E.164, e.g. +14155550100). Tell them first.",
    parameters: { type: "object", properties: { to: { type: "string" } }, required: ["to"], additionalProperties: false },
  },
  {
    name: "send_digits",
    description: "Press keys on the call (DTMF), e.g. to navigate a phone menu. Digits 0-9, * and #, w = half-second pause.",
    parameters: { type: "object", properties: { digits: { type: "string" } }, required: ["digits"], additionalProperties: false },
  },
];
