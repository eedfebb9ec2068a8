import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectBus } from "@voicecall/bus";
import { LifecycleEvent, subjects } from "@voicecall/contracts";
import { CallStore } from "@voicecall/store";
import { freePort, startProc, startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
let servers: Servers;
beforeAll(async () => {
  servers = await startServers();
});
afterAll(async () => {
  await servers?.stop();
});

const env = (port: number) => ({
  PATH: process.env.PATH,
  NATS_URL: servers.natsUrl,
  REDIS_URL: servers.redisUrl,
  PORT: String(port),
  INSTANCE_ID: "agent-main-test",
});

describe("agent process", () => {
  it("serves health, writes a heartbeat, claims a call, releases it on SIGTERM and exits 0", async () => {
    const port = await freePort();
    const p = startProc(process.execPath, ["--import", "tsx", main], env(port));
    const redis = new Redis(servers.redisUrl);
    const { log } = testLogger("test", "warn");
    const bus = await connectBus({ url: servers.natsUrl, name: "test", log });
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200,
        "readyz",
        30_000,
      ).catch((e) => {
        throw new Error(`${e.message}\n${p.output()}`);
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await waitFor(() => redis.get("vc:hb:agent:agent-main-test"), "heartbeat");
      const store = new CallStore(redis);
      const callId = `m${randomUUID().slice(0, 8)}`;
      await store.createCall({
        callId,
        direction: "outbound",
        mode: "conversation",
        from: "+14155550001",
        to: "+14155550002",
      });
      bus.publish(subjects.lifecycle, LifecycleEvent, {
        type: "call.created",
        callId,
        ts: Date.now(),
        direction: "outbound",
        mode: "conversation",
        state: "queued",
      });
      await waitFor(async () => (await store.leaseOwner("agent", callId)) === "agent-main-test", "lease");
      process.kill(p.child.pid!, "SIGTERM");
      expect(await p.exited).toBe(0);
      expect(p.output()).toContain('"msg":"stopped"');
      expect(await store.leaseOwner("agent", callId)).toBeNull();
    } finally {
      await bus.drain();
      redis.disconnect();
      await p.stop();
    }
  });

  it("exits 1 with one line naming a bad variable", async () => {
    const p = startProc(process.execPath, ["--import", "tsx", main], { ...env(await freePort()), LLM_PROVIDER: "gpt" });
    expect(await p.exited).toBe(1);
    expect(p.output().trim()).toMatch(/^config: LLM_PROVIDER is invalid/);
    const q = startProc(process.execPath, ["--import", "tsx", main], {
      ...env(await freePort()),
      AGENT_SCRIPT: "/nonexistent.yaml",
    });
    expect(await q.exited).toBe(1);
    expect(q.output().trim()).toMatch(/^config: AGENT_SCRIPT is invalid/);
  });
});
