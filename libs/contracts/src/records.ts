import { z } from "zod";
import { AnsweredBy, CallEngine, CallMode, CallState, Direction } from "./common";

const num = z.coerce.number();
const bool = z
  .union([z.boolean(), z.enum(["0", "1", "true", "false"])])
  .transform((v) => v === true || v === "1" || v === "true");

/**
 * `vc:call:<callId>` hash. Redis gives strings back, so numbers and booleans are coerced.
 * Timestamps are epoch ms. Kept for `CALL_RETENTION_MS` after the call ends.
 */
export const CallRecord = z.object({
  callId: z.string(),
  state: CallState,
  direction: Direction,
  mode: CallMode,
  /** `web`: the browser phone speaks Media Streams itself; there is no Twilio call to control. */
  channel: z.enum(["twilio", "web"]).default("twilio"),
  /** `realtime`: media bridges the stream to a realtime voice model and holds the conversation; the agent stands aside. */
  engine: CallEngine.default("pipeline"),
  from: z.string(),
  to: z.string(),
  callSid: z.string().optional(),
  greeting: z.string().optional(),
  /** Set only when the mark ending the greeting (or notify message) came back from Twilio. */
  greetingPlayed: bool.default(false),
  voicemailMessage: z.string().optional(),
  answeredBy: AnsweredBy.optional(),
  machineDetection: z.enum(["Enable", "DetectMessageEnd"]).optional(),
  /** JSON of agent options given at creation (system prompt, voice, etc.). */
  agentOptions: z.string().optional(),
  /** Where this call's events go instead of EVENT_WEBHOOK_URL (set by `POST /api/calls`). */
  eventWebhookUrl: z.string().optional(),
  agentOwner: z.string().optional(),
  mediaOwner: z.string().optional(),
  streamSid: z.string().optional(),
  streamCount: num.default(0),
  /** Twilio's last `StreamError` for this call (Stream statusCallback `stream-error`). */
  lastStreamError: z.string().optional(),
  /** Barge-ins that turned out to be noise (a cough, "uh-huh") and were resumed; counted by media. */
  falseInterruptions: num.optional(),
  /** Last turn generation handed out by `CallStore.nextGeneration` (agent). */
  generation: num.optional(),
  /** The caller's newest final transcript (media writes it as it publishes `transcript.final`, same `ts`). */
  lastFinalTs: num.optional(),
  lastFinalText: z.string().optional(),
  /** `ts` of the newest caller final an agent has handled (answered or ignored); lower than `lastFinalTs`: one went unheard. */
  handledFinalTs: num.optional(),
  createdAt: num,
  updatedAt: num,
  answeredAt: num.optional(),
  endedAt: num.optional(),
  endReason: z.string().optional(),
});
export type CallRecord = z.infer<typeof CallRecord>;

/** One entry of `vc:call:<callId>:timeline` (a Redis list, oldest first). */
export const TimelineEntry = z.object({
  ts: z.number(),
  state: CallState,
  prev: CallState.optional(),
  source: z.string(),
  reason: z.string().optional(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/** One entry of the `vc:call:<callId>:transcript` Redis stream. */
export const TranscriptEntry = z.object({
  role: z.enum(["caller", "agent", "system"]),
  text: z.string(),
  ts: num,
  utteranceId: z.string().optional(),
  /** For agent lines cut short by barge-in: the caller heard only `text`. */
  interrupted: bool.optional(),
});
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

/** `vc:hb:<service>:<instance>`: liveness, TTL a few seconds, renewed. */
export const Heartbeat = z.object({
  service: z.enum(["gateway", "media", "tts", "agent"]),
  instance: z.string(),
  ts: num,
  load: num.default(0),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/**
 * `vc:call:<id>:greeting`: tts rendered the call's greeting while the phone rang (its audio, raw 8 kHz
 * mu-law, is beside it under `…:greeting:audio`), so media can play it on `start` without the agent.
 * `text` is what was rendered: media plays it only when it is still the call's greeting.
 */
export const PrerenderedGreeting = z.object({ text: z.string(), bytes: num, ts: num });
export type PrerenderedGreeting = z.infer<typeof PrerenderedGreeting>;

/** The cached first webhook answer per CallSid: a retried webhook gets the same TwiML. */
export const WebhookAnswer = z.object({ twiml: z.string(), ts: num });
export type WebhookAnswer = z.infer<typeof WebhookAnswer>;

/**
 * One measured turn, in the `vc:metrics:turns` Redis stream (capped): for `reply`, caller's end of
 * speech → first reply audio sent to Twilio; for `greeting`, stream start → first greeting audio sent.
 */
export const TurnMetric = z.object({
  callId: z.string(),
  kind: z.enum(["greeting", "reply"]),
  latencyMs: num,
  ts: num,
});
export type TurnMetric = z.infer<typeof TurnMetric>;

/** How each `CallRecord` field is read from the hash's strings (`callRecordFromHash`); the same rules as the schema's. */
type HashField =
  | { k: "str"; opt: boolean }
  | { k: "enum"; of: ReadonlySet<string>; opt: boolean; def?: string }
  | { k: "num"; opt: boolean; def?: number }
  | { k: "bool"; def: boolean };

const str = (opt = true): HashField => ({ k: "str", opt });
const oneOf = (e: { options: readonly string[] }, o: { opt?: boolean; def?: string } = {}): HashField => ({
  k: "enum",
  of: new Set(e.options),
  opt: o.opt ?? false,
  def: o.def,
});
const number = (o: { opt?: boolean; def?: number } = {}): HashField => ({ k: "num", opt: o.opt ?? false, def: o.def });

/** In the schema's key order (the parsed record's keys come out in it). A test holds it to `CallRecord.shape`. */
export const callRecordHashFields: Readonly<Record<keyof CallRecord, HashField>> = {
  callId: str(false),
  state: oneOf(CallState),
  direction: oneOf(Direction),
  mode: oneOf(CallMode),
  channel: oneOf(z.enum(["twilio", "web"]), { def: "twilio" }),
  engine: oneOf(CallEngine, { def: "pipeline" }),
  from: str(false),
  to: str(false),
  callSid: str(),
  greeting: str(),
  greetingPlayed: { k: "bool", def: false },
  voicemailMessage: str(),
  answeredBy: oneOf(AnsweredBy, { opt: true }),
  machineDetection: oneOf(z.enum(["Enable", "DetectMessageEnd"]), { opt: true }),
  agentOptions: str(),
  eventWebhookUrl: str(),
  agentOwner: str(),
  mediaOwner: str(),
  streamSid: str(),
  streamCount: number({ def: 0 }),
  lastStreamError: str(),
  falseInterruptions: number({ opt: true }),
  generation: number({ opt: true }),
  lastFinalTs: number({ opt: true }),
  lastFinalText: str(),
  handledFinalTs: number({ opt: true }),
  createdAt: number(),
  updatedAt: number(),
  answeredAt: number({ opt: true }),
  endedAt: number({ opt: true }),
  endReason: str(),
};
const hashKeys = Object.keys(callRecordHashFields) as (keyof CallRecord)[];
const hashFields = hashKeys.map((k) => callRecordHashFields[k]);

/**
 * `CallRecord.parse` of a Redis hash (every value a string), without zod: every read of a call (the
 * gateway's callbacks, media's admission, the agent) parsed it, 27.6 µs a time warm (bench/hot-path.ts; 5.1 here). The
 * same rules by hand: enums, `z.coerce.number()` (Number(), NaN refused), the boolean's four strings,
 * defaults, unknown fields dropped, keys in the schema's order. Anything they do not accept as-is (a
 * value that is not a string, a bad enum, NaN) goes through `CallRecord.parse`, which throws as before.
 * Equivalence with the schema: records.test.ts (fuzzed hashes, both paths).
 */
export function callRecordFromHash(h: Readonly<Record<string, unknown>>): CallRecord {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < hashKeys.length; i++) {
    const key = hashKeys[i]!;
    const f = hashFields[i]!;
    // As zod reads it (`data[key]`): no field of the schema is a property every object has.
    const v = h[key];
    if (v === undefined) {
      if (f.k === "bool" || (f.k !== "str" && f.def !== undefined)) out[key] = f.def;
      else if (!f.opt) return CallRecord.parse(h);
      continue;
    }
    if (typeof v !== "string") return CallRecord.parse(h);
    switch (f.k) {
      case "str":
        out[key] = v;
        break;
      case "enum":
        if (!f.of.has(v)) return CallRecord.parse(h);
        out[key] = v;
        break;
      case "num": {
        const n = Number(v);
        if (Number.isNaN(n)) return CallRecord.parse(h);
        out[key] = n;
        break;
      }
      case "bool":
        if (v === "1" || v === "true") out[key] = true;
        else if (v === "0" || v === "false") out[key] = false;
        else return CallRecord.parse(h);
        break;
    }
  }
  return out as CallRecord;
}
