import { randomUUID } from "node:crypto";
import { connectBus, type Bus } from "@voicecall/bus";
import { CallStore, connectRedis } from "@voicecall/store";
import { mintStreamToken } from "@voicecall/auth";
import { audioHeaderRecord, CallEvent, subjects, type Purpose } from "@voicecall/contracts";
import { freePort, startServers, testLogger, type Servers } from "@voicecall/testkit";
import { createApp, type App } from "../src/app";
import { parseMediaConfig, type MediaConfig } from "../src/config";
import { energyPipelineFactory } from "./energy-pipeline";
import type { SpeechPipelineFactory } from "../src/speech/types";
import { TwilioStream, sid, type TwilioStreamOptions } from "./twilio-stream";

export const AUTH_TOKEN = "test-auth-token-0123456789";
export const SECRET = "stream-token-secret-0123456789abcdef";

export interface Worker {
  app: App;
  bus: Bus;
  port: number;
  id: string;
  logs: ReturnType<typeof testLogger>;
  redis: ReturnType<typeof connectRedis>;
}

/** Real NATS, Redis and Caddy (TLS) in front of `workers` media apps, plus a test bus and store. */
export async function startHarness(
  workers: number,
  env: Record<string, string> = {},
  speech: () => SpeechPipelineFactory = () => energyPipelineFactory(),
) {
  const ports = await Promise.all(Array.from({ length: workers }, () => freePort()));
  const servers: Servers = await startServers({
    caddy: { routes: [{ path: "/voice/stream*", upstreams: ports.map((p) => `127.0.0.1:${p}`) }] },
  });
  const caddy = servers.caddy!;
  const { log } = testLogger("media-test", "warn");
  const redis = connectRedis(servers.redisUrl, log);
  const store = new CallStore(redis);
  const bus = await connectBus({ url: servers.natsUrl, name: "test", log });
  const config: MediaConfig = parseMediaConfig({
    PUBLIC_URL: caddy.origin,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    STREAM_TOKEN_SECRET: SECRET,
    NATS_URL: servers.natsUrl,
    REDIS_URL: servers.redisUrl,
    STREAM_START_TIMEOUT_MS: "1500",
    RECONNECT_GRACE_MS: "300",
    FALSE_INTERRUPTION_MS: "600",
    STREAM_LEASE_TTL_MS: "3000",
    ...env,
  });

  const startWorker = async (port: number, i: number): Promise<Worker> => {
    const logs = testLogger(`media-${i}`, "info");
    const wbus = await connectBus({ url: servers.natsUrl, name: `media-${i}`, log: logs.log });
    const id = `media-${i}-${randomUUID().slice(0, 6)}`;
    const wredis = connectRedis(servers.redisUrl, logs.log);
    const app = createApp({
      config,
      bus: wbus,
      store: new CallStore(wredis),
      log: logs.log,
      speech: speech(),
      instanceId: id,
    });
    await new Promise<void>((r) => app.server.listen(port, "127.0.0.1", r));
    return { app, bus: wbus, port, id, logs, redis: wredis };
  };
  const list = await Promise.all(ports.map((p, i) => startWorker(p, i)));

  const events: CallEvent[] = [];
  bus.subscribe("vc.call.*.evt", CallEvent, (e) => void events.push(e));
  await bus.flush();

  const clients: TwilioStream[] = [];
  const h = {
    servers,
    caddy,
    store,
    bus,
    config,
    workers: list,
    events,
    streamUrl: `wss://localhost:${caddy.httpsPort}/voice/stream`,
    startWorker,
    /** A call in Redis, answered, with its CallSid. */
    async newCall(): Promise<{ callId: string; callSid: string }> {
      const callId = `c${randomUUID().replace(/-/g, "").slice(0, 16)}`;
      const callSid = sid("CA");
      await store.createCall({
        callId,
        callSid,
        direction: "outbound",
        mode: "conversation",
        from: "+14155550100",
        to: "+14155550101",
        state: "in-progress",
      });
      return { callId, callSid };
    },
    token: (callId: string, callSid: string, ttlMs = 60_000) => mintStreamToken(SECRET, callId, callSid, ttlMs),
    /** A signed client through Caddy; `params` default to a valid callId + token. */
    client(call: { callId: string; callSid: string }, o: Partial<TwilioStreamOptions> = {}): TwilioStream {
      const c = new TwilioStream({
        url: h.streamUrl,
        ca: caddy.ca,
        authToken: AUTH_TOKEN,
        callSid: call.callSid,
        customParameters: { callId: call.callId, token: h.token(call.callId, call.callSid) },
        ...o,
      });
      c.opened.catch(() => undefined);
      clients.push(c);
      return c;
    },
    of: <T extends CallEvent["type"]>(callId: string, type: T) =>
      events.filter((e): e is Extract<CallEvent, { type: T }> => e.callId === callId && e.type === type),
    /** Publish an utterance as tts does: `chunks` pieces of audio, seq from 0, last flagged. */
    speak(
      callId: string,
      utteranceId: string,
      audio: Uint8Array,
      o: { chunks?: number; generation?: number; purpose?: Purpose } = {},
    ): void {
      const n = o.chunks ?? 4;
      const size = Math.ceil(audio.length / n);
      for (let i = 0; i < n; i++) {
        const part = audio.subarray(i * size, Math.min(audio.length, (i + 1) * size));
        const hdr = audioHeaderRecord({
          callId,
          utteranceId,
          seq: i,
          last: i === n - 1,
          generation: o.generation ?? 1,
          purpose: o.purpose ?? "reply",
          text: i === 0 ? "hello" : undefined,
        });
        bus.publishBinary(subjects.audio(callId), part, hdr);
      }
    },
    ctl(callId: string, msg: Record<string, unknown>): void {
      bus.nc.publish(
        subjects.ctl(callId),
        new TextEncoder().encode(JSON.stringify({ v: 1, callId, ts: Date.now(), ...msg })),
      );
    },
    async stop() {
      for (const c of clients) c.close();
      for (const w of h.workers) {
        await w.app.close().catch(() => undefined);
        await w.bus.drain().catch(() => undefined);
        w.redis.disconnect();
      }
      await bus.drain();
      redis.disconnect();
      await servers.stop();
    },
  };
  return h;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** Test audio whose bytes spell their own position, so any gap or repeat shows. */
export function rampAudio(ms: number): Uint8Array {
  const a = new Uint8Array(ms * 8);
  for (let i = 0; i < a.length; i++) a[i] = (i * 7 + (i >> 8)) & 0x7f;
  return a;
}
