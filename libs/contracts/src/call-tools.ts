import { z } from "zod";

/** A function a model may call during a call; `parameters` is a JSON Schema object. */
export interface CallToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/**
 * The tools every model is offered on a call, the pipeline's LLM and a realtime model alike (the same
 * names, so the transcript and `tool.called` events read the same whichever engine voiced the call).
 */
export const callTools: readonly CallToolSpec[] = [
  {
    name: "end_call",
    description: "Hang up the call after your current sentence has been heard. Say goodbye first.",
    parameters: { type: "object", properties: { reason: { type: "string" } }, additionalProperties: false },
  },
  {
    name: "transfer_call",
    description: "Transfer the caller to a phone number (E.164, e.g. +14155550100). Tell them first.",
    parameters: {
      type: "object",
      properties: { to: { type: "string" } },
      required: ["to"],
      additionalProperties: false,
    },
  },
  {
    name: "send_digits",
    description:
      "Press keys on the call (DTMF), e.g. to navigate a phone menu. Digits 0-9, * and #, w = half-second pause.",
    parameters: {
      type: "object",
      properties: { digits: { type: "string" } },
      required: ["digits"],
      additionalProperties: false,
    },
  },
];

/**
 * The arguments each tool takes, as parsed before it runs (the JSON Schema above is what the model is
 * shown). A field of the wrong type fails the call; an optional one that is malformed is dropped.
 */
export const callToolArgs = {
  end_call: z.object({ reason: z.string().optional().catch(undefined) }),
  /** At least 3 characters, as `cmd transfer` takes it. */
  transfer_call: z.object({ to: z.string().min(3) }),
  /** The keys `ctl send-digits` accepts. */
  send_digits: z.object({ digits: z.string().regex(/^[0-9*#A-Dw]{1,32}$/) }),
} satisfies Record<string, z.ZodTypeAny>;
export type CallToolName = keyof typeof callToolArgs;
export type CallToolArgs<N extends CallToolName> = z.infer<(typeof callToolArgs)[N]>;
