import type { Server } from "node:http";
import { connectBus } from "@voicecall/bus";
import { ConfigError } from "@voicecall/config";
import { configSecrets, createLogger } from "@voicecall/log";
import { defaultInstanceId, every, onShutdown } from "@voicecall/runtime";
import { CallStore, connectRedis, durableWrites } from "@voicecall/store";
import { createApp } from "./app";
import { parseTtsConfig, type TtsConfig } from "./config";
import { createTts } from "./providers";

function config(): Readonly<TtsConfig> {
  try {
    return parseTtsConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + "\n");
      process.exit(1);
    }
    throw err;
  }
}

const cfg = config();
const instance = cfg.INSTANCE_ID ?? defaultInstanceId("tts");
const log = createLogger({
  service: "tts",
  instance,
  level: cfg.LOG_LEVEL,
  pretty: cfg.LOG_PRETTY,
  secrets: configSecrets(cfg),
});
const tts = createTts(cfg);
log.info(
  { provider: tts.label, voice: tts.voice, fallback: cfg.TTS_FALLBACK_PROVIDER, engine: cfg.LOCAL_TTS_ENGINE },
  "tts provider configured",
);

const redis = connectRedis(cfg, log, `tts:${instance}`);
const store = new CallStore(redis, { durable: durableWrites(cfg, log) });
const bus = await connectBus({ url: cfg.NATS_URL, name: `tts:${instance}`, log });
const app = createApp({
  bus,
  redis,
  store,
  tts,
  log,
  cacheTtlMs: cfg.TTS_CACHE_TTL_MS,
  cacheMaxChars: cfg.TTS_CACHE_MAX_CHARS,
  instanceId: instance,
});
app.start();

const heartbeat = () => store.heartbeat({ service: "tts", instance, ts: Date.now(), load: app.speaker.load }, 6000);
await heartbeat().catch(() => undefined);
const stopHeartbeat = every(2000, heartbeat, log);
const server: Server = app.http.listen(cfg.PORT, () => log.info({ port: cfg.PORT }, "tts listening"));

onShutdown(log, cfg.SHUTDOWN_TIMEOUT_MS, async () => {
  stopHeartbeat();
  // Leave a little of the budget for draining NATS and closing Redis.
  const finish = app.close();
  const cut = setTimeout(() => app.speaker.abortAll(), Math.max(0, cfg.SHUTDOWN_TIMEOUT_MS - 2000));
  await finish;
  clearTimeout(cut);
  await new Promise<void>((r) => server.close(() => r()));
  await bus.drain();
  redis.disconnect();
});
