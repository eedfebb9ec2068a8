import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { waitFor } from "@voicecall/testkit";
import { root } from "./infra-files";

// `npm run dev` for real: every service up and ready behind Caddy, then Ctrl-C leaves nothing behind.
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("npm run dev (scripts/dev.ts)", () => {
  let dev: ChildProcess | undefined;
  let out = "";
  afterAll(() => {
    if (dev?.exitCode === null) process.kill(-dev.pid!, "SIGKILL");
  });

  it("starts nats, redis, caddy and all four services ready, and Ctrl-C stops every process", async () => {
    // Own process group, like a terminal's foreground job: SIGINT goes to the group.
    dev = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts", "--random-ports"], { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_PRETTY: "false" } });
    dev.stdout!.on("data", (d) => (out += d));
    dev.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => dev!.once("exit", (c) => r(c)));

    await waitFor(() => /\| pids [\d ]+\n/.test(out) || /dev {6}\| failed/.test(out), "the dev stack's ready summary", 120_000, 200);
    expect(out, out.slice(-3000)).not.toMatch(/dev {6}\| (failed|warning)/);
    const ready = /stack ready \(([^)]+)\)/.exec(out)![1]!;
    const instances = Object.fromEntries(ready.split(", ").map((x) => x.split(":") as [string, string]));
    expect(Object.keys(instances).sort()).toEqual(["agent", "gateway", "media-0", "tts"]);
    for (const [name, port] of Object.entries(instances)) expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status, name).toBe(200);

    // The public origin routes /api to the gateway (it answers, not Caddy's "no route").
    const origin = /public origin {3}(\S+)/.exec(out)![1]!;
    const caPath = /local CA: (\S+)\)/.exec(out)![1]!;
    const post = (headers: Record<string, string> = {}, body?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        request(`${origin}/api/calls`, { method: "POST", ca: readFileSync(caPath), headers }, (r) => {
          let text = "";
          r.on("data", (d) => (text += d));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body: text }));
        })
          .on("error", reject)
          .end(body);
      });
    const res = await post();
    expect(res.body).not.toBe("no route");
    expect(res.status).toBe(401); // no bearer token

    // No Twilio account given: dev says its credentials are generated, and a phone call is a 503 saying so.
    expect(out).toMatch(/Twilio {10}credentials GENERATED, not a real account/);
    const token = /Authorization: Bearer (\w+)/.exec(out)![1]!;
    const call = await post({ authorization: `Bearer ${token}`, "content-type": "application/json" }, JSON.stringify({ to: "+14155550123" }));
    expect(call.status, call.body).toBe(503);
    expect(JSON.parse(call.body).error).toMatch(/credentials are generated, not a real account/);

    const pids = /\| pids ([\d ]+)\n/.exec(out)![1]!.trim().split(" ").map(Number);
    expect(pids.length).toBe(3 + 4);
    process.kill(-dev.pid!, "SIGINT");
    expect(await exited).toBe(0);
    await waitFor(() => pids.every((p) => !alive(p)), "every dev process to exit", 10_000);
    expect(out).toMatch(/dev {6}\| stopped/);
  });
});
