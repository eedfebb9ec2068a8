import { describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { waitFor } from "@voicecall/testkit";
import { root } from "./infra-files";

/**
 * A stop signal sent to the command a person (or an IDE, systemd, `timeout`, CI) started — only to it,
 * not to its process group — stops everything it started. npm hands SIGTERM to its shell, which dies
 * without passing it on, so this is what failed.
 */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function start(cmd: string, args: string[]): { p: ChildProcess; out: () => string } {
  const p = spawn(cmd, args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOG_PRETTY: "false" },
  });
  let out = "";
  p.stdout!.on("data", (d) => (out += d));
  p.stderr!.on("data", (d) => (out += d));
  return { p, out: () => out };
}

/** Whatever is left after the test: the whole group, and every pid it reported. */
function cleanup(p: ChildProcess, pids: number[]): void {
  for (const pid of [p.pid!, ...pids]) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

describe("stop signals reach everything", () => {
  it("SIGTERM to `npm run dev` alone stops nats, redis, caddy and every service", async () => {
    const { p, out } = start("npm", ["run", "dev", "--", "--random-ports"]);
    let pids: number[] = [];
    try {
      await waitFor(
        () => /\| pids [\d ]+\n/.test(out()) || p.exitCode !== null,
        "the dev stack's ready summary",
        120_000,
        200,
      );
      pids = /\| pids ([\d ]+)\n/.exec(out())![1]!.trim().split(" ").map(Number);
      expect(pids.length).toBe(7);
      process.kill(p.pid!, "SIGTERM");
      await waitFor(() => pids.every((x) => !alive(x)), "every process dev started to exit", 20_000, 100);
      await waitFor(() => p.exitCode !== null || p.signalCode !== null, "npm to exit", 10_000, 100);
      expect(out(), out().slice(-1500)).toMatch(/dev {6}\| stopped/);
    } finally {
      cleanup(p, pids);
    }
  }, 180_000);

  it("Ctrl-C with README's log-keeping line (`| tee`): tee goes first, dev still stops everything", async () => {
    // A terminal's Ctrl-C reaches the whole pipeline: tee dies with it, and every line dev prints while
    // stopping meets a closed pipe (EPIPE). (--random-ports: other stacks may hold the usual ports.)
    const { p, out } = start("sh", [
      "-c",
      "mkdir -p tmp && npm run dev -- --random-ports 2>&1 | tee tmp/dev-signals-test.log",
    ]);
    let pids: number[] = [];
    try {
      await waitFor(
        () => /\| pids [\d ]+\n/.test(out()) || p.exitCode !== null,
        "the dev stack's ready summary",
        120_000,
        200,
      );
      pids = /\| pids ([\d ]+)\n/.exec(out())![1]!.trim().split(" ").map(Number);
      process.kill(-p.pid!, "SIGINT");
      await waitFor(() => pids.every((x) => !alive(x)), "every process dev started to exit", 20_000, 100);
    } finally {
      cleanup(p, pids);
    }
  }, 180_000);

  it("SIGTERM to `npx tsx <service main>` alone runs the service's shutdown", async () => {
    const { p, out } = start("npx", ["tsx", "test/infra/fixtures/on-shutdown.ts"]);
    let pid = 0;
    try {
      await waitFor(() => /ready \d+/.test(out()), "the process ready", 60_000, 100);
      pid = Number(/ready (\d+)/.exec(out())![1]);
      process.kill(p.pid!, "SIGTERM");
      await waitFor(() => !alive(pid), "the service process to exit", 10_000, 100);
      expect(out()).toMatch(/stop ran/);
    } finally {
      cleanup(p, pid ? [pid] : []);
    }
  }, 90_000);
});
