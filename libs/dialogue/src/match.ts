import type { DialogueScript, Intent } from "./script";

/** Lowercase words only (apostrophes kept): how phrases are compared and put in the grammar. */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’`]/g, "'")
    .replace(/[^a-z0-9' ]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

const DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/** Digits spelled as words ("24" → "two four"): recognisers hear words, scripts may write numerals. */
export const spellDigits = (phrase: string): string =>
  phrase
    .split(" ")
    .map((w) => (/^\d+$/.test(w) ? [...w].map((d) => DIGITS[Number(d)]).join(" ") : w))
    .join(" ");

const words = (t: string): string[] => (t ? spellDigits(normalize(t)).split(" ").filter(Boolean) : []);

export interface IntentMatch {
  intent: Intent;
  /** 1 for an exact example; below that, the share of an example's words present. */
  score: number;
}

export interface MatchState {
  /** The intent that answered last; enables its `after` follow-ups. */
  lastIntent?: string;
}

/** Score one example against the caller's words: exact 1, else F1 of word overlap. */
function scoreExample(example: string[], said: string[], saidText: string): number {
  const ex = example.join(" ");
  if (ex === saidText) return 1;
  if (example.length === 0 || said.length === 0) return 0;
  const set = new Set(said);
  const hit = example.filter((w) => set.has(w)).length;
  if (hit === 0) return 0;
  const precision = hit / said.length;
  const recall = hit / example.length;
  // Containing the whole example phrase is strong evidence ("uh what are your opening hours").
  const contained = ` ${saidText} `.includes(` ${ex} `) ? 0.2 : 0;
  return Math.min(0.99, (2 * precision * recall) / (precision + recall) + contained);
}

/**
 * Best intent for `text`, or null below `threshold` (default 0.5). Deterministic.
 * Follow-ups (`after`) only match right after their parent answered, and win ties there;
 * a digit-only text ("1") also matches an intent's `dtmf` key.
 */
export function matchIntent(
  script: DialogueScript,
  text: string,
  state: MatchState = {},
  threshold = 0.5,
): IntentMatch | null {
  const said = words(text);
  const saidText = said.join(" ");
  let best: IntentMatch | null = null;
  for (const intent of script.intents) {
    if (intent.after && intent.after !== state.lastIntent) continue;
    let score = intent.dtmf !== undefined && saidText === spellDigits(intent.dtmf) ? 1 : 0;
    for (const e of intent.examples) score = Math.max(score, scoreExample(words(e), said, saidText));
    if (intent.after) score += 0.001; // a follow-up beats the same phrase out of context
    if (!best || score > best.score) best = { intent, score };
  }
  return best && best.score >= threshold ? { intent: best.intent, score: Math.min(1, best.score) } : null;
}

/** The intent whose reply `text` is (or starts, if it was cut short): recovers state from history. */
export function intentByReply(script: DialogueScript, text: string): Intent | undefined {
  const t = normalize(text);
  if (!t) return undefined;
  return (
    script.intents.find((i) => normalize(i.reply) === t) ?? script.intents.find((i) => normalize(i.reply).startsWith(t))
  );
}
