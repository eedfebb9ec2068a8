import { z } from "zod";
import { commonFields, fields, parseConfig } from "@voicecall/config";
import { speechConfigSchema } from "./speech/config";
import { parseBackchannels, type BargeInConfig } from "./barge-in";
import { realtimeConfigSchema } from "./realtime/config";

const { ms, bool } = fields;
const db = (def: number) =>
  z.coerce.number().min(0).max(60).default(def).describe(`decibels 0..60 (0 = off), e.g. ${def}`);
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
    /**
     * Outbound pacing by the wall clock: pieces of PLAYOUT_CHUNK_MS, sent while less than PLAYOUT_LEAD_MS is
     * ahead of the send clock; a mark every PLAYOUT_MARK_MS to learn what was played. The lead has to cover
     * what can hold one piece up against the one before it (network jitter, a TCP retransmit, event-loop lag
     * on either side), not the round trip: marks no longer pace. `clear` drops it all, so barge-in costs nothing.
     * Pieces of 100 ms, not 20: Twilio plays "audio of any size" from its buffer, and each piece is a socket
     * write here, a TLS record through Caddy and a message at Twilio; at 100 calls 20 ms pieces made media's
     * writes 5× as many for the same audio (docs/performance.md, "outbound piece size").
     * A lead of 1000 ms, not 400: a TCP retransmit (200 ms minimum RTO) and ±30 ms jitter fit in 400, but a
     * loaded event loop on either side does not: at 100 calls on 2 cores media's loop lag p99 was 160–240 ms
     * (max higher), and 400 ms left 0.39 gaps per call where 1000 left 0.01 (docs/performance.md, "lead").
     * It costs 8 KB in Twilio's buffer per call and nothing audible: `clear` drops what is held.
     */
    PLAYOUT_CHUNK_MS: ms(100),
    PLAYOUT_LEAD_MS: ms(1000),
    PLAYOUT_MARK_MS: ms(100),
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
    /**
     * Paused-over speech longer than this (VAD onset → last voiced frame) may be a sentence: the pause holds
     * until its transcript, never resumed on the timer above. 700: "uh-huh", "mm-hmm", "yeah" run 250–650 ms.
     */
    BARGE_IN_BACKCHANNEL_MAX_MS: ms(700),
    /** Such speech with no transcript this long after it ended (STT down): the cut reply is dropped, not replayed. */
    BARGE_IN_RECOGNITION_TIMEOUT_MS: ms(5000),
    /**
     * Caller quiet this long after speech that paused the agent: decode what was said so far (pocketsphinx)
     * and resume at once if it was no words. 200: longer than the gaps inside a word (stop closures run
     * under 150 ms), and leaves ~100 ms for the decode so a noise's pause can end within 300 ms of it.
     */
    BARGE_IN_RESUME_GAP_MS: ms(200),
    /**
     * The decode for that decision starts after this much quiet (pocketsphinx, which can decode a part; a
     * streaming engine is ended at BARGE_IN_RESUME_GAP_MS) and its answer waits for the gap: the decision and
     * its audio are the same, but the decode runs inside the gap instead of after it. 100: gives the decode a
     * 100 ms head start (a grammar decode plus its sink decode take 30–100 ms idle, and the queue for the one
     * worker adds to that under load), while gaps between a sentence's words shorter than that start no
     * decode that the next word would waste. = BARGE_IN_RESUME_GAP_MS (or more): start it at the decision, as before.
     */
    BARGE_IN_CHECK_GAP_MS: ms(100),
    /**
     * Echo guard: while agent audio plays, inbound frames more than this many dB below its level are not
     * speech. 9: a speakerphone echo comes back 10–20 dB down; a caller talking over the agent is near its level.
     */
    BARGE_IN_ECHO_GUARD_DB: db(9),
    /**
     * Inbound frames this many dB below the caller's own voice (learnt from their turns) are not speech.
     * 12: background speech 20 dB down peaks ~14 dB down (measured on the bench's); the caller's own frames rarely dip that far.
     */
    BARGE_IN_CALLER_FLOOR_DB: db(12),
    /**
     * Over agent speech (it plays, or a pause holds it), a transcript the recogniser is less sure of than this
     * (0..1) is not a turn. 0.5: pocketsphinx's grammar fit puts the bench's script sentences at 0.62–0.74 and
     * noises and murmurs forced onto a phrase ("uh huh" as "that works") at 0–0.44 (docs/performance.md).
     * Deepgram's results carry its own confidence, compared with the same threshold (not measured against
     * the real service here: the local fake answers 0.98). 0 = off.
     */
    BARGE_IN_MIN_CONFIDENCE: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe("a confidence 0..1 (0 = off), e.g. 0.5"),
    /**
     * Over agent speech, a transcript of at least this many real words, every one of them in the text being
     * played, is the agent's own voice coming back (speakerphone echo through a streaming recogniser), not a
     * turn. 3: a caller may answer with two of the agent's words on purpose ("book it", "friday morning");
     * two seconds of echo carry five or more. 0 = off.
     */
    BARGE_IN_ECHO_WORDS: count(3),
    /**
     * Open vocabulary (pocketsphinx n-gram) over agent speech: decide barge-ins on a second decode of the same
     * audio against a small fixed grammar (speech/second-opinion.ts: backchannels and the murmur sink,
     * interruptions), not on the n-gram's words. true: the n-gram decode turns murmurs into words ("uh huh" →
     * "the hood") and cut 5 of the 6 paused non-turns on the bench; no score of its own separated them
     * (docs/performance.md). Idle turns and grammar (script) decodes are unchanged; false = the n-gram's words decide.
     */
    BARGE_IN_SECOND_OPINION: bool.default("true"),
    /**
     * With that second opinion, an utterance over agent speech the fixed grammar hears only as backchannels or
     * sink sounds is a sentence (a turn) when its voiced speech runs this long (ms): the grammar has no words for
     * a sentence and forces it onto the sink ("what are your opening hours" → "uh"). 1400: the bench's flite
     * murmurs ran 360–1080 ms voiced (VAD onset → last voiced frame; "mm hmm" the longest), the sentence it put on
     * the sink 1980 ms (docs/performance.md). A shorter sentence the grammar hears as a backchannel ("yes please"
     * as "yes") resumes the reply.
     */
    BARGE_IN_SENTENCE_MS: ms(1400),
    /** Comma list of words that never count as an interruption. */
    BACKCHANNELS: z.string().default("uh-huh,uh,huh,mm-hmm,mhm,mm,hmm,yeah,yep,okay,ok,right,alright,sure"),
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
    backchannelMaxMs: c.BARGE_IN_BACKCHANNEL_MAX_MS,
    recognitionTimeoutMs: c.BARGE_IN_RECOGNITION_TIMEOUT_MS,
    resumeGapMs: c.BARGE_IN_RESUME_GAP_MS,
    checkGapMs: Math.min(c.BARGE_IN_CHECK_GAP_MS, c.BARGE_IN_RESUME_GAP_MS),
    sentenceMs: c.BARGE_IN_SENTENCE_MS,
    minConfidence: c.BARGE_IN_MIN_CONFIDENCE,
    echoWords: c.BARGE_IN_ECHO_WORDS,
    backchannels: parseBackchannels(c.BACKCHANNELS),
  };
}
