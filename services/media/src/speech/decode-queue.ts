/**
 * Which waiting decode a pocketsphinx thread runs next: the lowest `prio` (a rated check's sink decode,
 * −0.5, then a barge-in check, 0, then finals, 1), then arrival order. Every check is due the same time
 * after it is asked (within the caller's quiet gap), so arrival order is earliest deadline first. The
 * shortest check first was tried (h17) and dropped: with no gain measured, it let later, shorter checks
 * pass a cough's 7 times at 10 calls, which resumed 558 ms after the noise (docs/performance.md, #17
 * fifth pass, the lead's check). Pure (the worker's I/O is in pocketsphinx-worker.ts).
 */
export interface Queued {
  prio: number;
}

/** Index in `queue` (in arrival order, not empty) of the job to run next. */
export function nextJob(queue: readonly Queued[]): number {
  let k = 0;
  for (let i = 1; i < queue.length; i++) if (queue[i]!.prio < queue[k]!.prio) k = i;
  return k;
}
