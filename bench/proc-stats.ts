import { readdirSync, readFileSync, readlinkSync } from "node:fs";

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

/** The pid of the process listening on a loopback TCP port (from /proc/net/tcp and the fds), if any. */
export function pidListening(port: number): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the 10th field
      if (f[1]?.endsWith(`:${hex}`) && f[3] === "0A") inodes.add(f[9]!);
    }
  }
  if (!inodes.size) return undefined;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(pid);
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return undefined;
}
