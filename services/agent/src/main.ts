import { connectBus } from "@voicecall/bus";
import { loadConfig } from "@voicecall/config";
import { loadScript } from "@voicecall/dialogue";
import { configSecrets, createLogger } from "@voicecall/log";
import { defaultInstanceId, every, onShutdown } from "@voicecall/runtime";
import { CallStore, connectRedis, durableWrites } from "@voicecall/store";
import { createApp } from "./app";
import { AgentConfigSchema } from "./config";
import { createLanguageModel } from "./llm/factory";

const config = loadConfig(AgentConfigSchema);
const instanceId = config.INSTANCE_ID ?? defaultInstanceId("agent");
const log = createLogger({
  service: "agent",
  instance: instanceId,
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
  secrets: configSecrets(config),
});
const script = (() => {
  try {
    return loadScript(config.AGENT_SCRIPT);
  } catch (err) {
    process.stderr.write(`config: AGENT_SCRIPT is invalid: ${(err as Error).message}\n`);
    process.exit(1);
  }
})();
const model = createLanguageModel(config, script, log);
const redis = connectRedis(config, log, "agent");
const store = new CallStore(redis, { durable: durableWrites(config, log) });
const bus = await connectBus({ url: config.NATS_URL, name: instanceId, log });

const app = createApp({ config, bus, redis, store, model, script, log, instanceId });
const server = app.http.listen(config.PORT, () =>
  log.info({ port: config.PORT, model: model.label }, "agent listening"),
);
const beat = () =>
  store.heartbeat({ service: "agent", instance: instanceId, ts: Date.now(), load: app.claims.count }, 6000);
await beat();
const stopBeat = every(2000, beat, log);
await app.start();

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, async () => {
  stopBeat();
  await app.stop(true);
  await new Promise<void>((r) => server.close(() => r()));
  await bus.drain();
  redis.disconnect();
});
