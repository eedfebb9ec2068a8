import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "node:https";
import { join } from "node:path";
import { WebSocket } from "ws";
import { startStack, type Stack } from "@voicecall/testkit";

// startStack's machinery (ports, env, Caddy routes, readiness, restart, teardown) with stand-in services
// from a fixture root, so it is tested independently of the real services' progress.
const root = join(import.meta.dirname, "fixtures", "stack");

function httpsJson(url: string, ca: Buffer): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: b.startsWith("{") ? JSON.parse(b) : { text: b } }),
      );
    }).on("error", reject);
  });
}

function wsHello(url: string, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca });
    ws.once("message", (d) => {
      resolve(d.toString());
      ws.close();
    });
    ws.once("error", reject);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("startStack", () => {
  let stack: Stack;
  const warnings: string[] = [];

  beforeAll(async () => {
    stack = await startStack({
      root,
      services: ["gateway", "media", "tts"],
      mediaReplicas: 2,
      allowMissing: true,
      warn: (m) => warnings.push(m),
      twilioApiBaseUrl: "http://127.0.0.1:1",
      serviceEnv: { gateway: { EXTRA: "for-gateway" } },
      stopGraceMs: 3000,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("fails on a missing service unless allowMissing, and then warns and skips it", async () => {
    await expect(startStack({ root, services: ["tts"] })).rejects.toThrow(/services\/tts\/src\/main.ts is missing/);
    expect(warnings.join("\n")).toMatch(/tts not started/);
    expect(stack.services.tts).toBeUndefined();
    expect(() => stack.get("tts")).toThrow(/tts is not running/);
  });

  it("routes the gateway paths through Caddy TLS with Host and X-Forwarded-Proto, and passes the env", async () => {
    for (const path of ["/voice/webhook?callId=1", "/voice/status", "/voice/amd", "/api/calls", "/phone"]) {
      const r = await httpsJson(`${stack.origin}${path}`, stack.ca);
      expect(r.status).toBe(200);
      expect(r.body.path).toBe(path);
    }
    const { body } = await httpsJson(`${stack.origin}/api/calls`, stack.ca);
    expect(body.host).toBe(new URL(stack.origin).host);
    expect(body.proto).toBe("https");
    expect(body.instance).toBe("gateway");
    expect(body.env).toEqual({
      PUBLIC_URL: stack.origin,
      NATS_URL: stack.servers.natsUrl,
      REDIS_URL: stack.servers.redisUrl,
      TWILIO_API_BASE_URL: "http://127.0.0.1:1",
      API_TOKEN: stack.secrets.API_TOKEN,
      EXTRA: "for-gateway",
    });
    expect(stack.secrets.TWILIO_ACCOUNT_SID).toMatch(/^AC[0-9a-f]{32}$/);
    expect((await httpsJson(`${stack.origin}/elsewhere`, stack.ca)).status).toBe(404);
  });

  it("balances wss /voice/stream over every media replica", async () => {
    expect(stack.services.media.map((m) => m.instance)).toEqual(["media-0", "media-1"]);
    const wss = stack.origin.replace("https:", "wss:");
    const seen = new Set<string>();
    for (let i = 0; i < 6 && seen.size < 2; i++) {
      const hello = await wsHello(`${wss}/voice/stream`, stack.ca);
      expect(hello).toMatch(/^media-\d \/voice\/stream https$/);
      seen.add(hello.split(" ")[0]!);
    }
    expect([...seen].sort()).toEqual(["media-0", "media-1"]);
  });

  it("kill9 stops a replica hard; restart brings it back on the same port", async () => {
    const m = stack.get("media", 1);
    const { port } = m;
    const pid = m.proc.child.pid!;
    await m.kill9();
    expect(m.running()).toBe(false);
    expect(alive(pid)).toBe(false);
    await m.restart();
    expect(m.running()).toBe(true);
    expect(m.port).toBe(port);
    expect((await fetch(`${m.url}/readyz`)).status).toBe(200);
  });

  it("stop leaves no process behind", async () => {
    const s = await startStack({ root, services: ["gateway"], stopGraceMs: 3000 });
    const pid = s.get("gateway").proc.child.pid!;
    expect(alive(pid)).toBe(true);
    await s.stop();
    expect(alive(pid)).toBe(false);
    expect(s.get("gateway").logs()).toBe("");
  });
});
