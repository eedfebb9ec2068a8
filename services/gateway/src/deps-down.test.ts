import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Server } from "node:http";
import { connectBus, type Bus } from "@voicecall/bus";
import { CallStore, connectRedis } from "@voicecall/store";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import type { Redis } from "ioredis";
import { createApp } from "./app";
import { parseGatewayConfig } from "./config";
import { API_TOKEN, PUBLIC_URL, STREAM_SECRET, api, close, listen, origin } from "../test/harness";
import { twilioNotConfigured } from "./twilio-calls";

/**
 * NATS and Redis of their own (the shared harness ones must stay up), stopped under a running gateway:
 * API requests answer 503 with the reason within 2 s instead of waiting for them to come back.
 */
let nats: Servers;
let redisServer: Servers;
let bus: Bus;
let redis: Redis;
let server: Server;
let url: string;

beforeAll(async () => {
  [nats, redisServer] = await Promise.all([
    startServers({ nats: true, redis: false }),
    startServers({ nats: false, redis: true }),
  ]);
  const { log } = testLogger("gateway", "warn");
  bus = await connectBus({ url: nats.natsUrl, name: "deps-down", log });
  redis = connectRedis(redisServer.redisUrl, log, "deps-down");
  await waitFor(() => redis.status === "ready", "redis ready");
  const config = parseGatewayConfig({
    NATS_URL: nats.natsUrl,
    REDIS_URL: redisServer.redisUrl,
    PUBLIC_URL,
    API_TOKEN,
    STREAM_TOKEN_SECRET: STREAM_SECRET,
  });
  const gw = createApp({ config, log, bus, redis, store: new CallStore(redis), twilio: twilioNotConfigured() });
  server = await listen(gw.app);
  url = origin(server);
});
afterAll(async () => {
  await close(server);
  redis?.disconnect();
  await bus?.nc.close();
  await Promise.all([nats?.stop(), redisServer?.stop()]);
});

async function timed(method: string, path: string, body?: unknown) {
  const t0 = Date.now();
  const r = await Promise.race([
    api(url, method, path, body),
    new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${method} ${path} still waiting after 5 s`)), 5000)),
  ]);
  return { ...r, ms: Date.now() - t0 };
}

describe("API requests while Redis or NATS is down", () => {
  it("answers normally while both are up", async () => {
    expect((await timed("GET", "/api/calls")).status).toBe(200);
  });

  it("Redis down: 503 `redis unreachable` within 2 s, for listing, placing, hanging up and the browser phone", async () => {
    await redisServer.stop();
    for (const [method, path, body] of [
      ["GET", "/api/calls"],
      ["POST", "/api/calls", { to: "+14155550123" }],
      ["POST", "/api/calls/abc/hangup"],
      ["POST", "/phone/calls", {}],
    ] as const) {
      const r = await timed(method, path, body);
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.json)}`).toBe(503);
      expect(r.json).toMatchObject({ error: "redis unreachable" });
      expect(r.json.reason).toMatch(/^redis unreachable: /);
      expect(r.ms, `${method} ${path}`).toBeLessThan(2000);
    }
  });

  it("NATS down too: the reason names both", async () => {
    await nats.stop();
    const r = await timed("POST", "/api/calls/abc/say", { text: "hello" });
    expect(r.status).toBe(503);
    expect(r.json.reason).toMatch(/nats unreachable: .*; redis unreachable: /);
    expect(r.ms).toBeLessThan(2000);
  });
});
