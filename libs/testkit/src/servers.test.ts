import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import { WebSocketServer, WebSocket } from "ws";
import { connect, StringCodec } from "nats";
import { Redis } from "ioredis";
import { startServers, type Servers } from "./servers";
import { freePort } from "./ports";

describe("startServers: real nats, redis and caddy", () => {
  let s: Servers;
  let wsPort: number;
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on("connection", (ws, req) => ws.on("message", (m) => ws.send(`echo:${m}:${req.headers["x-forwarded-proto"]}`)));

  beforeAll(async () => {
    wsPort = await freePort();
    await new Promise<void>((r) => http.listen(wsPort, "127.0.0.1", r));
    s = await startServers({ caddy: { routes: [{ path: "/voice/stream*", upstreams: [`127.0.0.1:${wsPort}`] }] } });
  });
  afterAll(async () => {
    await s?.stop();
    http.close();
  });

  it("a message published on NATS is written to Redis and read back", async () => {
    const nc = await connect({ servers: s.natsUrl });
    const redis = new Redis(s.redisUrl);
    const sc = StringCodec();
    const sub = nc.subscribe("vc.test");
    const done = (async () => {
      for await (const m of sub) {
        await redis.set("vc:test", sc.decode(m.data));
        break;
      }
    })();
    nc.publish("vc.test", sc.encode("hello"));
    await done;
    expect(await redis.get("vc:test")).toBe("hello");
    await nc.close();
    redis.disconnect();
  });

  it("redis restart keeps AOF data", async () => {
    const redis = new Redis(s.redisUrl, { maxRetriesPerRequest: null });
    await redis.set("vc:durable", "yes");
    await s.restartRedis();
    expect(await redis.get("vc:durable")).toBe("yes");
    redis.disconnect();
  });

  it("a wss:// client reaches a ws server through caddy tls internal", async () => {
    const ws = new WebSocket(`wss://localhost:${s.caddy!.httpsPort}/voice/stream`, { ca: s.caddy!.ca });
    const reply = await new Promise<string>((res, rej) => {
      ws.once("open", () => ws.send("hi"));
      ws.once("message", (d) => res(d.toString()));
      ws.once("error", rej);
    });
    expect(reply).toBe("echo:hi:https");
    ws.close();
  });

  it("an unrouted path gets caddy's 404, proving routes are explicit", async () => {
    const res = await new Promise<number>((resolve, reject) => {
      import("node:https").then(({ get }) =>
        get(`${s.caddy!.origin}/nope`, { ca: s.caddy!.ca }, (r) => resolve(r.statusCode ?? 0)).on("error", reject),
      );
    });
    expect(res).toBe(404);
  });
});
