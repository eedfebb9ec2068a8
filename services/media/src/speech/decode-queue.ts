/**
 * Which waiting decode a pocketsphinx thread runs next: the lowest `prio` (a barge-in check, 0, before finals,
 * 1), then arrival order, except among checks: the shortest audio first. A check a paused reply waits on is a
 * murmur's (under `BARGE_IN_SENTENCE_MS` of speech) when it can resume it, and its answer is due within the
 * quiet gap; a longer check (a sentence, which only confirms the cut) waiting a decode more is not heard by anyone.
 * Finals stay in arrival order: shortest-first there could starve a long utterance while the n-gram thread is
 * over capacity. Pure (the worker's I/O is in pocketsphinx-worker.ts).
 */
export interface Queued {
  prio: number;
  /** Audio length (samples) of the decode; a job of no audio counts as 0. */
  samples: number;
}

/** Index in `queue` (in arrival order, not empty) of the job to run next. */
export function nextJob(queue: readonly Queued[]): number {
  let k = 0;
  for (let i = 1; i < queue.length; i++) {
    const a = queue[i]!;
    const b = queue[k]!;
    if (a.prio < b.prio || (a.prio === b.prio && a.prio <= 0 && a.samples < b.samples)) k = i;
  }
  return k;
}
