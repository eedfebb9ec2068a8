import { z } from "zod";
import { commonFields, fields, parseConfig } from "@voicecall/config";
import { speechConfigSchema } from "./speech/config";
import { parseBackchannels, type BargeInConfig } from "./barge-in";
import { realtimeConfigSchema } from "./realtime/config";

const { ms, bool } = fields;
const count = (def: number) => z.coerce.number().int().nonnegative().default(def).describe(`a count, e.g. ${def}`);

/** Media service environment (speech fields: ./speech/config.ts; realtime: ./realtime/config.ts). Durations end in `_MS`. */
export const MediaConfigSchema = z
  .object({
  ...commonFields,
  PORT: fields.port(8080),
  PUBLIC_URL: fields.publicUrl,
  /** Checks X-Twilio-Signature on stream upgrades; unset (browser phone only) = the stream token alone. */
  TWILIO_AUTH_TOKEN: z.string().min(1).optional().describe("the Twilio account auth token"),
  STREAM_TOKEN_SECRET: fields.secret("STREAM_TOKEN_SECRET"),

  /** A socket with no valid `start` after this is closed (1008). */
  STREAM_START_TIMEOUT_MS: ms(5000),
  /** Largest inbound WebSocket message (bytes); bigger closes the socket (1009). */
  STREAM_MAX_PAYLOAD: count(65_536),
  /** Sockets connected but not yet started, per client address and in total. */
  MAX_PENDING_PER_ADDRESS: count(20),
  MAX_PENDING_TOTAL: count(200),
  /** Flood cut-off: a token bucket of inbound messages (Twilio sends ~50/s plus mark echoes). */
  FLOOD_BURST: count(500),
  FLOOD_PER_SECOND: count(250),
  /** Invalid frames tolerated per stream before it is closed as hostile. */
  MAX_INVALID_FRAMES: count(200),
  STREAM_LEASE_TTL_MS: ms(6000),
  /** A lost stream (closed without `stop`) counts as ended only if no newer stream starts within this. */
  RECONNECT_GRACE_MS: ms(3000),
  /** Outbound pacing: each sent piece is this long and followed by a mark; keep this far ahead of playback. */
  PLAYOUT_CHUNK_MS: ms(20),
  PLAYOUT_LEAD_MS: ms(160),
  /** SIGTERM: wait this long for calls to finish, then close sockets with 1001. */
  DRAIN_TIMEOUT_MS: ms(30_000),

  BARGE_IN_ENABLED: bool.default("true"),
  /** Caller speech needed to interrupt while the agent speaks / thinks (no audio playing, reply pending). */
  BARGE_IN_MIN_SPEECH_MS: ms(200),
  BARGE_IN_MIN_WORDS: count(0),
  BARGE_IN_THINKING_MIN_SPEECH_MS: ms(400),
  BARGE_IN_THINKING_MIN_WORDS: count(0),
  /** After a caller's final transcript, the agent counts as thinking for this long (until its audio comes). */
  BARGE_IN_THINKING_WINDOW_MS: ms(5000),
  /** No real turn within this after a barge-in → false interruption: resume the utterance. */
  FALSE_INTERRUPTION_MS: ms(1500),
  /** Comma list of words that never count as an interruption. */
  BACKCHANNELS: z.string().default("uh-huh,uh,huh,mm-hmm,mhm,mm,hmm,yeah,yep,okay,ok,right,sure"),
  })
  .merge(speechConfigSchema)
  .merge(realtimeConfigSchema);

export type MediaConfig = z.infer<typeof MediaConfigSchema>;

export function parseMediaConfig(env: Record<string, string | undefined>): Readonly<MediaConfig> {
  return parseConfig(MediaConfigSchema, env);
}

/** The barge-in policy settings from config. */
export function bargeInConfig(c: MediaConfig): BargeInConfig {
  return {
    enabled: c.BARGE_IN_ENABLED,
    speaking: { minSpeechMs: c.BARGE_IN_MIN_SPEECH_MS, minWords: c.BARGE_IN_MIN_WORDS },
    thinking: { minSpeechMs: c.BARGE_IN_THINKING_MIN_SPEECH_MS, minWords: c.BARGE_IN_THINKING_MIN_WORDS },
    falseInterruptionMs: c.FALSE_INTERRUPTION_MS,
    backchannels: parseBackchannels(c.BACKCHANNELS),
  };
}
