/** Who owns a call's part: the conversation (agent), the stream (media), the speech (tts). */
export type LeaseKind = "agent" | "stream" | "tts";

/** Redis keys (prefix `vc:`). One place; the store module is the only user. */
export const keys = {
  call: (callId: string) => `vc:call:${callId}`,
  timeline: (callId: string) => `vc:call:${callId}:timeline`,
  transcript: (callId: string) => `vc:call:${callId}:transcript`,
  /** Stream reconnects of a call in the current window (a counter that expires with the window). */
  reconnects: (callId: string) => `vc:call:${callId}:reconnects`,
  callSid: (callSid: string) => `vc:callsid:${callSid}`,
  /** The call's greeting rendered while the phone rang (tts): its PrerenderedGreeting record and its mu-law audio. */
  greeting: (callId: string) => `vc:call:${callId}:greeting`,
  greetingAudio: (callId: string) => `vc:call:${callId}:greeting:audio`,
  active: "vc:calls:active",
  seen: (key: string) => `vc:seen:${key}`,
  tts: (hash: string) => `vc:tts:${hash}`,
  lease: (kind: LeaseKind, callId: string) => `vc:lease:${kind}:${callId}`,
  heartbeat: (service: string, instance: string) => `vc:hb:${service}:${instance}`,
  heartbeats: "vc:hb:*",
  webhookAnswer: (callSid: string) => `vc:twiml:${callSid}`,
  /** A call's event outbox (stream of OutboxEntry) and its delivery cursor (hash of DeliveryState). */
  events: (callId: string) => `vc:call:${callId}:events`,
  delivery: (callId: string) => `vc:call:${callId}:delivery`,
  /** A call's measured turns (list of TurnMetric JSON), for its end-of-call report; TTL CALL_RETENTION_MS. */
  callTurns: (callId: string) => `vc:call:${callId}:turns`,
  /**
   * Calls with events to deliver → when to look next (zset, epoch ms). No TTL: a member leaves once its
   * call is delivered (or its outbox expired), so it holds only calls with pending events.
   */
  eventsDue: "vc:events:due",
  /** Capped stream of DeadLetter (MAXLEN ~ 10k): no TTL, bounded by length. */
  eventsDead: "vc:events:dead",
  /** Capped stream of TurnMetric (MAXLEN ~ 100k): no TTL, bounded by length. */
  turns: "vc:metrics:turns",
} as const;
