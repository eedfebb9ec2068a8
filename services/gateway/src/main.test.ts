import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { freePort, startProc, startServers, waitFor, type Servers } from "@voicecall/testkit";
import type { Simulator } from "@voicecall/twilio-sim";
import { ACCOUNT_SID, API_TOKEN, AUTH_TOKEN, STREAM_SECRET, startTwilio } from "../test/harness";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
let servers: Servers;
let twilio: Simulator;
beforeAll(async () => {
  servers = await startServers();
  twilio = await startTwilio();
});
afterAll(async () => {
  await twilio?.stop();
  await servers?.stop();
});

const baseEnv = (port: number) => ({
  PATH: process.env.PATH,
  NATS_URL: servers.natsUrl,
  REDIS_URL: servers.redisUrl,
  PORT: String(port),
  INSTANCE_ID: "gateway-main-test",
  PUBLIC_URL: "https://voice.example.test",
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  TWILIO_API_BASE_URL: twilio.origin,
  TWILIO_FROM_NUMBER: "+14155550100",
  API_TOKEN,
  STREAM_TOKEN_SECRET: STREAM_SECRET,
});

describe("gateway process", () => {
  it("serves /healthz and /readyz, writes a heartbeat, exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const p = startProc(process.execPath, ["--import", "tsx", main], baseEnv(port));
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200,
        "readyz",
        30_000,
      ).catch((e) => {
        throw new Error(`${e.message}\n${p.output()}`);
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const redis = new Redis(servers.redisUrl);
      try {
        await waitFor(() => redis.get("vc:hb:gateway:gateway-main-test"), "heartbeat");
      } finally {
        redis.disconnect();
      }
      process.kill(p.child.pid!, "SIGTERM");
      expect(await p.exited).toBe(0);
      expect(p.output()).toContain('"msg":"stopped"');
    } finally {
      await p.stop();
    }
  });

  it("exits 1 with one line naming a bad variable", async () => {
    const env = { ...baseEnv(await freePort()), PUBLIC_URL: "http://insecure.example" };
    const p = startProc(process.execPath, ["--import", "tsx", main], env);
    expect(await p.exited).toBe(1);
    expect(p.output().trim()).toMatch(/^config: PUBLIC_URL is invalid: must be https:\/\//);
  });
});
