import { readFileSync } from "node:fs";

/** CPU time (ms, user+system) and RSS (bytes) of a Linux process, from /proc. */
export interface ProcSample {
  at: number;
  cpuMs: number;
  rss: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

export function sampleProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuMs = (Number(f[11]) + Number(f[12])) * TICK_MS;
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { at: Date.now(), cpuMs, rss: m ? Number(m[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** CPU share (1 = one core) between two samples. */
export const cpuShare = (a: ProcSample, b: ProcSample): number => (b.cpuMs - a.cpuMs) / Math.max(1, b.at - a.at);
