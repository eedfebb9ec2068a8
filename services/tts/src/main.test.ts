import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { connect } from "nats";
import { Redis } from "ioredis";
import { SayMessage, keys, subjects } from "@voicecall/contracts";
import { freePort, startProc, startServers, waitFor, type Proc, type Servers } from "@voicecall/testkit";
import { parseTtsConfig } from "./config";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const tsx = ["--import", "tsx", main];

describe("tts process (main.ts)", () => {
  let s: Servers;
  let p: Proc;
  let port: number;
  beforeAll(async () => {
    s = await startServers();
    port = await freePort();
    p = startProc(process.execPath, tsx, {
      ...process.env,
      NATS_URL: s.natsUrl,
      REDIS_URL: s.redisUrl,
      PORT: String(port),
      INSTANCE_ID: "tts-test-1",
      LOG_LEVEL: "info",
    });
  });
  afterAll(async () => {
    await p?.stop();
    await s?.stop();
  });

  it("serves /healthz and /readyz, writes a heartbeat, speaks a say, and exits 0 on SIGTERM", async () => {
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok,
      `readyz\n${p.output()}`,
      20_000,
    );
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const redis = new Redis(s.redisUrl);
    await waitFor(() => redis.get(keys.heartbeat("tts", "tts-test-1")), "heartbeat");
    redis.disconnect();

    const nc = await connect({ servers: s.natsUrl });
    const sub = nc.subscribe(subjects.audio("proc-call"));
    let last = false;
    let bytes = 0;
    void (async () => {
      for await (const m of sub) {
        bytes += m.data.length;
        if (m.headers?.get("last") === "1") last = true;
      }
    })();
    await nc.flush();
    const say = SayMessage.parse({
      type: "say",
      callId: "proc-call",
      ts: Date.now(),
      utteranceId: "u1",
      text: "Hello from the process.",
      purpose: "reply",
      generation: 0,
    });
    nc.publish(subjects.say("proc-call"), new TextEncoder().encode(JSON.stringify(say)));
    await waitFor(() => last, "last audio chunk");
    expect(bytes).toBeGreaterThan(8000);
    await nc.close();

    await p.stop(8000);
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('"msg":"stopped"');
  });

  it("a vendor provider without its key exits 1 naming the variable", () => {
    const r = spawnSync(process.execPath, tsx, {
      env: { ...process.env, TTS_PROVIDER: "elevenlabs", ELEVENLABS_API_KEY: "" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ELEVENLABS_API_KEY is unset");
  });
});

describe("config", () => {
  it("defaults to local flite with local fallback, port 8081", () => {
    const c = parseTtsConfig({});
    expect(c).toMatchObject({
      PORT: 8081,
      TTS_PROVIDER: "local",
      TTS_FALLBACK_PROVIDER: "local",
      LOCAL_TTS_ENGINE: "flite",
    });
  });
  it("rejects an unknown engine with one line naming it", () => {
    expect(() => parseTtsConfig({ LOCAL_TTS_ENGINE: "festival" })).toThrow(/LOCAL_TTS_ENGINE is invalid/);
  });
  it("needs OPENAI_API_KEY when openai is the fallback", () => {
    expect(() => parseTtsConfig({ TTS_FALLBACK_PROVIDER: "openai" })).toThrow(/OPENAI_API_KEY/);
  });
});
