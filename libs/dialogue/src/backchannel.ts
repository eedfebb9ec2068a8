/**
 * Sounds a caller makes while listening: not a turn. Every word is in PocketSphinx's en-us dictionary,
 * so the grammar can offer them as a sink for noises and murmurs.
 */
export const BACKCHANNEL_PHRASES = ["uh huh", "uh-huh", "mm hmm", "mhm", "hmm", "huh", "uh", "mm"] as const;

/**
 * Acknowledgements said over the agent ("right"): in the grammar so that the decoder hears them as
 * themselves rather than as the nearest script phrase ("bye"). Over agent speech media marks them as
 * backchannels; said on their own they are the caller's turn ("yeah" also answers a yes/no question).
 */
export const ACKNOWLEDGEMENT_PHRASES = ["right", "alright"] as const;

/**
 * What a caller says to stop the agent, in no script: in the grammar so that a barge-in with them is heard
 * (a grammar without them hears "stop" as the murmur "uh" and the reply resumes). Real words: they cut.
 */
export const INTERRUPTION_PHRASES = ["stop", "wait", "hold on", "hang on", "excuse me", "sorry"] as const;

const words = new Set(BACKCHANNEL_PHRASES.flatMap((p) => p.split(" ")));

/** True when `text` has words and all of them are backchannel sounds ("uh huh", "mm"). */
export function isBackchannel(text: string): boolean {
  const w = text
    .toLowerCase()
    .split(/[^a-z-]+/)
    .filter(Boolean);
  return w.length > 0 && w.every((x) => words.has(x));
}
