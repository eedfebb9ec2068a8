/** NATS subject builders. Prefix `vc.`; one place so no service spells a subject by hand. */
const safe = (callId: string): string => {
  if (!/^[A-Za-z0-9_-]+$/.test(callId)) throw new Error(`callId not subject-safe: ${callId}`);
  return callId;
};

export const subjects = {
  /** gateway, media → agent, ops: lifecycle and in-call events. */
  evt: (callId: string) => `vc.call.${safe(callId)}.evt`,
  /** agent → tts: text to speak, and cancellations. */
  say: (callId: string) => `vc.call.${safe(callId)}.say`,
  /** tts → media (stream owner): mu-law chunks, binary payload + headers. */
  audio: (callId: string) => `vc.call.${safe(callId)}.audio`,
  /** agent, gateway → media: control, never queued behind audio. */
  ctl: (callId: string) => `vc.call.${safe(callId)}.ctl`,
  /** agent, media → gateway: call control that needs Twilio REST (hang up, transfer). */
  cmd: (callId: string) => `vc.call.${safe(callId)}.cmd`,
  /** gateway → all: created / answered / ended. */
  lifecycle: "vc.calls.lifecycle",
  /** tts → all: ask for a greeting pre-render while the phone rings (gateway → tts). */
  prerender: "vc.tts.prerender",
  allEvt: "vc.call.*.evt",
  allSay: "vc.call.*.say",
  allCmd: "vc.call.*.cmd",
  allCtl: "vc.call.*.ctl",
} as const;

/** Extract the callId from a concrete per-call subject. */
export function callIdOf(subject: string): string {
  const parts = subject.split(".");
  if (parts.length !== 4 || parts[0] !== "vc" || parts[1] !== "call") throw new Error(`not a call subject: ${subject}`);
  return parts[2]!;
}

/** Queue groups: one member of each group gets each message. */
export const queues = { gateway: "gateway", tts: "tts", agent: "agent", media: "media" } as const;
