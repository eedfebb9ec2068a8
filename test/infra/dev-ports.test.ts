import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { freePort, waitFor } from "@voicecall/testkit";
import { portPicker } from "../../scripts/dev-ports";
import { root } from "./infra-files";

/** Hold `port` on loopback (false when something else holds it already: taken either way). */
const hold = (port: number) =>
  new Promise<Server | false>((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => resolve(s));
  });

describe("npm run dev on a machine where a usual port is taken", () => {
  it("the picker keeps a free port, replaces a taken one with one warning naming both, and never warns for --random-ports", async () => {
    const free = await freePort();
    const taken = await freePort();
    const blocker = (await hold(taken)) as Server;
    try {
      const p = portPicker(false);
      expect(await p.pick(free, "NATS")).toBe(free);
      const got = await p.pick(taken, "Redis");
      expect(got).not.toBe(taken);
      expect(p.warnings).toEqual([
        `warning: Redis port ${taken} is taken: using ${got} (the URLs printed below, and tmp/dev/cli.env, have the real ports)`,
      ]);
      const r = portPicker(true);
      await r.pick(taken, "Redis");
      expect(r.warnings).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  let dev: ChildProcess | undefined;
  const blockers: Server[] = [];
  afterAll(() => {
    if (dev?.exitCode === null) process.kill(-dev.pid!, "SIGKILL");
    for (const b of blockers) b.close();
  });

  it("Redis 6379 taken: dev prints the warning, and the Redis it prints and writes to tmp/dev/cli.env is the replacement", async () => {
    const b = await hold(6379);
    if (b) blockers.push(b);
    dev = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts"], {
      cwd: root,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LOG_PRETTY: "false" },
    });
    let out = "";
    dev.stdout!.on("data", (d) => (out += d));
    dev.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => dev!.once("exit", (c) => r(c)));
    await waitFor(
      () => /\| pids [\d ]+\n/.test(out) || /dev {6}\| failed/.test(out),
      "the dev stack's ready summary",
      120_000,
      200,
    );
    const m =
      /dev {6}\| warning: Redis port 6379 is taken: using (\d+) \(the URLs printed below, and tmp\/dev\/cli\.env, have the real ports\)/.exec(
        out,
      );
    expect(m, out.slice(0, 3000)).not.toBeNull();
    const port = m![1]!;
    // The warning comes before the summary, whose Redis is the replacement, as is the CLI's env file.
    expect(out.indexOf(m![0])).toBeLessThan(out.indexOf("voicecall dev stack ready"));
    expect(out).toMatch(new RegExp(`Redis redis://127\\.0\\.0\\.1:${port}\\b`));
    expect(readFileSync(join(root, "tmp", "dev", "cli.env"), "utf8")).toMatch(
      new RegExp(`^REDIS_URL=redis://127\\.0\\.0\\.1:${port}$`, "m"),
    );
    process.kill(-dev.pid!, "SIGINT");
    expect(await exited).toBe(0);
  });
});
