import { spawn, spawnSync, type ChildProcess } from "node:child_process";

const aptPackage: Record<string, string> = {
  "nats-server": "nats-server",
  "redis-server": "redis-server",
  "redis-sentinel": "redis-sentinel",
  caddy: "caddy",
  flite: "flite",
  "espeak-ng": "espeak-ng",
  pocketsphinx_batch: "pocketsphinx pocketsphinx-en-us",
  sox: "sox",
};

/** Fail with the apt line to run when a server binary is missing from PATH. */
export function requireBinary(name: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  if (r.status !== 0) {
    const pkg = aptPackage[name] ?? name;
    throw new Error(`${name} not found on PATH: install it with \`apt-get install -y ${pkg}\` (or run .ci/run)`);
  }
}

export interface Proc {
  child: ChildProcess;
  output(): string;
  /** SIGTERM the process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  kill9(): void;
  exited: Promise<number | null>;
}

/** Start a server in its own process group so a test's teardown never races a shared group. */
export function startProc(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Proc {
  const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    child,
    output: () => out,
    exited,
    kill9: () => signal("SIGKILL"),
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal("SIGTERM");
      const t = setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}
