import { afterAll, beforeAll, describe, expect, it } from "vitest";
import express from "express";
import type { Server } from "node:http";
import { startServers, testLogger, type Servers } from "@voicecall/testkit";
import { connectBus, type Bus } from "@voicecall/bus";
import { connectRedis } from "@voicecall/store";
import type { Redis } from "ioredis";
import { healthRouter } from "./health";
import { createMetrics, metricsRouter } from "./metrics";

let s: Servers;
let bus: Bus;
let redis: Redis;
let server: Server;
let base: string;
let draining = false;

beforeAll(async () => {
  s = await startServers();
  const { log } = testLogger();
  bus = await connectBus({ url: s.natsUrl, name: "rt", log });
  redis = connectRedis(s.redisUrl, log);
  const m = createMetrics("test");
  m.bargeIns.inc({ kind: "real" });
  m.turnLatency.observe({ kind: "reply" }, 12);
  const app = express()
    .use(healthRouter({ bus, redis, notReady: () => (draining ? "draining" : undefined) }))
    .use(metricsRouter(m));
  server = await new Promise((r) => {
    const srv = app.listen(0, "127.0.0.1", () => r(srv));
  });
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server?.close();
  redis?.disconnect();
  await bus?.drain();
  await s?.stop();
});

describe("health and metrics", () => {
  it("readyz is 200 with NATS and Redis up, 503 with a reason when draining", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    draining = true;
    const r = await fetch(`${base}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({ problems: ["draining"] });
    draining = false;
  });
  it("serves Prometheus text with the shared metrics", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^vc_barge_ins_total\{(?=[^}]*kind="real")(?=[^}]*service="test")[^}]*\} 1$/m);
    expect(text).toMatch(/^vc_turn_latency_ms_bucket\{le="20"(?=[^}]*kind="reply")[^}]*\} 1$/m);
  });
});
