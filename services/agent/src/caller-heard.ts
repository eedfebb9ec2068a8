/**
 * The part of `text` the caller heard when playback stopped after `playedMs` of `totalMs`:
 * the same share of characters, cut back to the last whole word. Speech rate is close enough to
 * uniform over a sentence that this is within a word or two.
 */
export function heardPart(text: string, playedMs: number, totalMs: number): string {
  if (totalMs <= 0 || playedMs <= 0) return "";
  if (playedMs >= totalMs) return text;
  const n = Math.floor((text.length * playedMs) / totalMs);
  if (n >= text.length) return text;
  // Keep a word only if it was fully played: cut before the word the cut falls into.
  const head = text.slice(0, n);
  const cut = /\s/.test(text[n] ?? " ") ? head : head.replace(/\S*$/, "");
  return cut.trimEnd();
}

/**
 * What the caller heard (or will hear) of a turn's sentences, in order: up to the first one cut by
 * barge-in (its heard words only); once a newer turn superseded it, only sentences confirmed played.
 */
export function heardContent(
  said: readonly { text: string; played?: boolean; cut?: string }[],
  superseded: boolean,
): string {
  const parts: string[] = [];
  for (const u of said) {
    if (u.cut !== undefined) {
      parts.push(u.cut);
      break;
    }
    if (superseded && !u.played) break;
    parts.push(u.text);
  }
  return parts.filter(Boolean).join(" ");
}
