/**
 * The second opinion for open vocabulary over agent speech (issue #17). The n-gram decoder turns every murmur
 * into words ("uh huh" → "the hood", a cough → "the the"), so over agent speech the same audio is also decoded
 * against a small fixed grammar: what a caller says over an agent without taking the turn (backchannels, with
 * the murmur sink's sounds: the script grammar's garbage model, pocketsphinx-worker.ts) and what they say to
 * stop it (interruptions). A grammar decoder must map any sound onto one of its phrases: murmurs and noises
 * land on the sink, interruptions on themselves (bench/open-second-opinion.ts, docs/performance.md).
 */

export const SECOND_OPINION_BACKCHANNELS = [
  "uh huh",
  "mm hmm",
  "mhm",
  "hmm",
  "huh",
  "uh",
  "mm",
  "right",
  "alright",
  "yeah",
  "yes",
  "yep",
  "okay",
  "sure",
] as const;

/**
 * Not "one moment" / "just a second": measured, flite's "mm hmm" fitted "one moment" (and sentences fell on it)
 * better than on the sink, so a murmur would have cut.
 */
export const SECOND_OPINION_INTERRUPTIONS = ["stop", "wait", "hold on", "hang on", "excuse me", "sorry", "no"] as const;

const wordsOf = (ps: readonly string[]) => new Set(ps.flatMap((p) => p.split(" ")));
const BACKCHANNEL_WORDS = wordsOf(SECOND_OPINION_BACKCHANNELS);
const INTERRUPTION_WORDS = wordsOf(SECOND_OPINION_INTERRUPTIONS);

/**
 * JSGF text of the fixed grammar: one phrase per utterance. A loop of phrases was measured and dropped: it maps
 * "mm hmm" onto a run with "wait" in it and a sentence onto a run of backchannels.
 */
export function secondOpinionGrammar(): string {
  const alt = (ps: readonly string[]) => ps.map((p) => `( ${p} )`).join(" | ");
  return [
    "#JSGF V1.0;",
    "grammar second_opinion;",
    "public <heard> = <backchannel> | <interruption>;",
    `<backchannel> = ${alt(SECOND_OPINION_BACKCHANNELS)};`,
    `<interruption> = ${alt(SECOND_OPINION_INTERRUPTIONS)};`,
    "",
  ].join("\n");
}

/** What the fixed grammar's hearing of an utterance makes it. */
export type SecondOpinionVerdict = "interruption" | "sentence" | "backchannel";

/**
 * The decision rule. An interruption phrase (or any word the grammar has that is no backchannel) is a turn.
 * Only backchannels or sink sounds: a backchannel if the utterance is shorter than a sentence (`sentenceMs` of
 * voiced speech), else a sentence the grammar could only force onto the sink ("what are your opening hours" is
 * heard as "uh"; its text comes from the n-gram decode). No words at all is no turn, however long (typing).
 */
export function secondOpinion(fixedText: string, speechMs: number, sentenceMs: number): SecondOpinionVerdict {
  const w = fixedText
    .toLowerCase()
    .split(/\s+/)
    .map((x) => x.replace(/\(\d+\)$/, ""))
    .filter(Boolean);
  if (w.some((x) => INTERRUPTION_WORDS.has(x))) return "interruption";
  if (w.some((x) => !BACKCHANNEL_WORDS.has(x))) return "sentence";
  return w.length > 0 && speechMs >= sentenceMs ? "sentence" : "backchannel";
}
