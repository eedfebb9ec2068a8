import { normalize } from "@voicecall/dialogue";

/**
 * True when a caller transcript is most likely our own voice coming back (speaker phone, line echo):
 * all its words (two or more, or one long word) occur in what we are saying right now.
 */
export function isEcho(transcript: string, speaking: string): boolean {
  const said = normalize(speaking);
  const line = normalize(transcript);
  if (!said || !line) return false;
  if (` ${said} `.includes(` ${line} `)) return true;
  const words = new Set(said.split(" "));
  const tw = line.split(" ");
  const hits = tw.filter((w) => words.has(w)).length;
  return tw.length >= 2 && hits / tw.length >= 0.8;
}
