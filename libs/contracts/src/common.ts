import { z } from "zod";

/** Every message on the bus carries these: `type` tags the union, `v` is the schema version. */
export const envelope = {
  v: z.literal(1).default(1),
  callId: z.string().min(1),
  /** Epoch milliseconds when the message was made. */
  ts: z.number().int().nonnegative(),
};

export const callStates = [
  "queued",
  "initiated",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "no-answer",
  "failed",
  "canceled",
  "rejected",
] as const;
export const CallState = z.enum(callStates);
export type CallState = z.infer<typeof CallState>;

export const terminalStates: readonly CallState[] = [
  "completed",
  "busy",
  "no-answer",
  "failed",
  "canceled",
  "rejected",
];
export const isTerminal = (s: CallState): boolean => terminalStates.includes(s);

export const Direction = z.enum(["inbound", "outbound"]);
export type Direction = z.infer<typeof Direction>;
export const CallMode = z.enum(["conversation", "notify"]);
export type CallMode = z.infer<typeof CallMode>;
/** How a call is voiced: the chained STT → LLM → TTS pipeline, or a speech-to-speech realtime model in media. */
export const CallEngine = z.enum(["pipeline", "realtime"]);
export type CallEngine = z.infer<typeof CallEngine>;

/** What an utterance is for; the agent treats greeting/notify/voicemail as "must be heard". */
export const Purpose = z.enum(["greeting", "reply", "notify", "voicemail", "prompt", "operator"]);
export type Purpose = z.infer<typeof Purpose>;

/** Twilio's AnsweredBy values for both AMD modes. */
export const AnsweredBy = z.enum([
  "human",
  "machine_start",
  "machine_end_beep",
  "machine_end_silence",
  "machine_end_other",
  "fax",
  "unknown",
]);
export type AnsweredBy = z.infer<typeof AnsweredBy>;

export const E164 = z.string().regex(/^\+[1-9]\d{6,14}$/, "must be E.164, e.g. +14155550100");
/** A phone address: E.164, or `client:<name>` for the browser phone. */
export const PhoneAddress = z.union([E164, z.string().regex(/^client:[\w.-]{1,64}$/)]);
