import { readFileSync } from "node:fs";

interface ProcInfo {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: tells a reused pid from the process we saw. */
  start: string;
  argv: string[];
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command (which may hold spaces and parentheses) start after the last ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    return { pid, ppid: Number(rest[1]), start: rest[19]!, argv };
  } catch {
    return undefined;
  }
}

const isLauncher = (p: ProcInfo) =>
  p.argv.some((a, i) => i < 2 && /(^|\/)(npm|npx)(-cli\.js)?$/.test(a)) || /^npm (exec|run)/.test(p.argv.join(" "));

/**
 * The processes between this one and the npm/npx that launched it (at most `depth` levels up), when
 * there is one: `npm run dev` → sh → node, `npx tsx main.ts` → sh → tsx → node. npm forwards a signal to
 * its shell, which dies without passing it on, so the program below never hears it. Empty when no npm
 * launcher is near (a container's pid 1, systemd, a shell): those deliver signals themselves, and a
 * `nohup` start must outlive its shell. Linux only (/proc); elsewhere empty.
 */
export function launcherChain(depth = 4): ProcInfo[] {
  const chain: ProcInfo[] = [];
  let pid = process.ppid;
  for (let i = 0; i < depth && pid > 1; i++) {
    const p = procInfo(pid);
    if (!p) return [];
    chain.push(p);
    if (isLauncher(p)) return chain;
    pid = p.ppid;
  }
  return [];
}

/**
 * Call `onOrphaned` once when a process of the launcher chain exits (the command the user started is
 * gone: an IDE's stop button, `timeout`, CI), so nothing keeps running without it. Returns a stop function.
 */
export function onLauncherExit(onOrphaned: (why: string) => void, everyMs = 500): () => void {
  const chain = launcherChain();
  if (!chain.length) return () => undefined;
  const t = setInterval(() => {
    const gone = chain.find((p) => procInfo(p.pid)?.start !== p.start);
    if (!gone) return;
    clearInterval(t);
    onOrphaned(`launcher ${gone.argv.slice(0, 2).join(" ") || gone.pid} (pid ${gone.pid}) exited`);
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
