/** The agent-side phrases used by tests and the benchmark, and a JSGF grammar over them. */
export const PHRASES = [
  "what are your opening hours",
  "goodbye",
  "yes please",
  "no thank you",
  "i want to book an appointment",
  "can i speak to a person",
  "cancel my appointment",
  "tomorrow morning",
  "how much does it cost",
  "where are you located",
] as const;

/** A JSGF grammar accepting exactly `phrases` (lower-case words from the pocketsphinx dictionary). */
export function phraseGrammar(phrases: readonly string[] = PHRASES): string {
  return `#JSGF V1.0;\ngrammar agent;\npublic <utterance> = ${phrases.map((p) => `( ${p} )`).join(" | ")} ;\n`;
}

/** Word error counts (Levenshtein over words) of `hyp` against `ref`. */
export function wordErrors(ref: string, hyp: string): { errors: number; words: number } {
  const r = ref.toLowerCase().split(/\s+/).filter(Boolean);
  const h = hyp
    .toLowerCase()
    .replace(/[^a-z' ]/g, " ")
    .split(/\s+/)
    .filter(Boolean);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return { errors: prev[h.length]!, words: r.length };
}
