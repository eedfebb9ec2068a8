import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import { CallStore, connectRedis } from "@voicecall/store";
import { connectBus, type Bus } from "@voicecall/bus";
import { CallEvent, subjects } from "@voicecall/contracts";
import { cliConfig } from "./config";
import { Ctx } from "./context";
import { runCli } from "./run";

let s: Servers;
let store: CallStore;
let bus: Bus;

function cli(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const ac = new AbortController();
  const ctx = new Ctx(
    cliConfig({ REDIS_URL: s.redisUrl, NATS_URL: s.natsUrl, ...env }),
    (l) => out.push(l),
    (l) => err.push(l),
    ac.signal,
  );
  return {
    out,
    err,
    ac,
    run: async (...argv: string[]) => {
      try {
        return await runCli(ctx, argv);
      } finally {
        await ctx.close();
      }
    },
  };
}

beforeAll(async () => {
  s = await startServers();
  const { log } = testLogger();
  store = new CallStore(connectRedis(s.redisUrl, log));
  bus = await connectBus({ url: s.natsUrl, name: "t", log });
  await store.createCall({
    callId: "cli-call-1",
    direction: "outbound",
    mode: "conversation",
    from: "+15550001111",
    to: "+15550002222",
    callSid: "CA0123456789abcdef0123456789abcdef",
  });
  await store.transition("cli-call-1", "ringing", "status");
  await store.transition("cli-call-1", "in-progress", "status");
  await store.appendTranscript("cli-call-1", { role: "agent", text: "Hello, this is the agent.", ts: Date.now() });
  await store.appendTranscript("cli-call-1", { role: "caller", text: "What are your opening hours", ts: Date.now() });
});
afterAll(async () => {
  store?.redis.disconnect();
  await bus?.drain();
  await s?.stop();
});

describe("voicecall CLI", () => {
  it("prints usage and exits 2 without a command, names an unknown one", async () => {
    const c = cli();
    expect(await c.run()).toBe(2);
    expect(c.err.join("\n")).toContain("voicecall doctor");
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const h = cli();
      expect(await h.run(...argv), argv.join(" ")).toBe(0);
      expect(h.out.join("\n")).toMatch(/voicecall simulate .*--ca file/);
      expect(h.out.join("\n")).toMatch(/CADDY_CA/);
    }
    const d = cli();
    expect(await d.run("frobnicate")).toBe(2);
    expect(d.err.join("\n")).toContain("unknown command frobnicate");
  });

  it("calls lists the active call as a table", async () => {
    const c = cli();
    expect(await c.run("calls")).toBe(0);
    const text = c.out.join("\n");
    expect(text).toMatch(/callId\s+state/);
    expect(text).toMatch(/cli-call-1\s+in-progress\s+outbound\s+conversation/);
  });

  it("show by CallSid prints timeline and transcript", async () => {
    const c = cli();
    expect(await c.run("show", "CA0123456789abcdef0123456789abcdef")).toBe(0);
    const text = c.out.join("\n");
    expect(text).toContain("call cli-call-1");
    expect(text).toMatch(/in-progress\s+ringing\s+status/);
    expect(text).toContain("caller What are your opening hours");
    const j = cli();
    await j.run("show", "cli-call-1", "--json");
    expect(JSON.parse(j.out[0]!).timeline.map((t: { state: string }) => t.state)).toEqual([
      "queued",
      "ringing",
      "in-progress",
    ]);
    const missing = cli();
    expect(await missing.run("show", "nope")).toBe(2);
  });

  it("show takes the 12-character id prefix tail prints; an ambiguous prefix lists the calls", async () => {
    const ids = ["5f3c9a1e-77aa-4b1c-9d2e-000000000001", "5f3c9a1e-78bb-4b1c-9d2e-000000000002"];
    for (const callId of ids)
      await store.createCall({
        callId,
        direction: "outbound",
        mode: "notify",
        from: "+15550001111",
        to: "+15550002222",
      });
    const c = cli();
    expect(await c.run("show", ids[0]!.slice(0, 12))).toBe(0);
    expect(c.out.join("\n")).toContain(`call ${ids[0]}`);
    const both = cli();
    expect(await both.run("show", "5f3c9a1e-7")).toBe(2);
    expect(both.err.join("\n")).toMatch(/^5f3c9a1e-7 is the start of 2 calls: .*; give more of the id$/);
    for (const id of ids) expect(both.err.join("\n")).toContain(id);
  });

  it("tail says in words when the NATS connection goes and comes back", async () => {
    const own = await startServers({ nats: true, redis: false });
    const c = cli({ NATS_URL: own.natsUrl });
    const done = c.run("tail", "--ready");
    try {
      await waitFor(() => c.err.includes("tailing"), "tail subscribed", 10_000, 50);
      await own.restartNats();
      await waitFor(
        () => c.err.some((l) => l.startsWith("tail: lost the NATS connection")),
        "disconnect line",
        15_000,
        100,
      );
      await waitFor(
        () => c.err.some((l) => l === "tail: NATS connection back; following events again"),
        "reconnect line",
        15_000,
        100,
      );
    } finally {
      c.ac.abort();
      expect(await done).toBe(0);
      await own.stop();
    }
  });

  it("tail prints live events for a call", async () => {
    const c = cli();
    const done = c.run("tail", "cli-call-1", "--count", "1");
    await waitFor(
      async () => {
        bus.publish(subjects.evt("cli-call-1"), CallEvent, {
          type: "dtmf",
          v: 1,
          callId: "cli-call-1",
          ts: Date.now(),
          streamSid: "MZ1",
          digit: "7",
        });
        return c.out.length > 0;
      },
      "tail output",
      10_000,
      200,
    );
    expect(await done).toBe(0);
    expect(c.out[0]).toMatch(/cli-call-1\s+dtmf\s+streamSid="MZ1" digit="7"/);
  });

  it("latency prints percentiles of recorded turns", async () => {
    for (const ms of [100, 200, 300, 400])
      await store.recordTurn({ callId: "cli-call-1", kind: "reply", latencyMs: ms, ts: Date.now() });
    const c = cli();
    expect(await c.run("latency", "--since", "1h", "--json")).toBe(0);
    const rows = JSON.parse(c.out[0]!);
    expect(rows.find((r: { n: number; turn: string }) => r.turn.startsWith("caller")).p50).toBe(200);
    const bad = cli();
    await expect(bad.run("latency", "--since", "soon")).rejects.toThrow(/--since/);
  });

  it("call needs API_TOKEN and says so", async () => {
    const c = cli();
    await expect(c.run("call", "+15550003333")).rejects.toThrow(/API_TOKEN/);
  });
});
