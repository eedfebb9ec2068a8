/**
 * Lower the scheduling priority of the calling thread alone (Linux). A worker thread's long, unurgent work (the
 * open-vocabulary n-gram decodes) then yields a shared core to the threads whose work a caller waits on (the
 * second opinion's grammar decode that resumes a paused reply). `os.setPriority(pid)` is `setpriority(2)` on
 * PRIO_PROCESS, which on Linux takes a thread id and changes that thread only; raising one's own nice needs no
 * privilege. Elsewhere (no /proc/thread-self) it changes nothing and says why.
 */
import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";

export type NiceResult = { ok: true; tid: number; nice: number } | { ok: false; error: string };

/** The thread id in a `/proc/thread-self` link (`PID/task/TID`), or undefined. */
export function threadIdOf(link: string): number | undefined {
  const m = /^\d+\/task\/(\d+)$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Set this thread's nice to `nice` (0 = leave it). Never throws: a refusal is returned for the caller to log. */
export function niceThisThread(nice: number): NiceResult | undefined {
  if (nice === 0) return undefined;
  try {
    const tid = threadIdOf(readlinkSync("/proc/thread-self"));
    if (tid === undefined) return { ok: false, error: "no thread id in /proc/thread-self" };
    setPriority(tid, nice);
    return { ok: true, tid, nice: getPriority(tid) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
