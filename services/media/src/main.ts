import { loadConfig } from "@voicecall/config";
import { configSecrets, createLogger } from "@voicecall/log";
import { connectBus } from "@voicecall/bus";
import { CallStore, connectRedis, durableWrites } from "@voicecall/store";
import { defaultInstanceId, every, onShutdown } from "@voicecall/runtime";
import { MediaConfigSchema } from "./config";
import { createApp } from "./app";
import { createSpeechPipelineFactory } from "./speech/index";
import { secondOpinionGrammar } from "./speech/second-opinion";
import { jsgfGrammar, loadScript } from "@voicecall/dialogue";

const config = loadConfig(MediaConfigSchema);
const instance = config.INSTANCE_ID ?? defaultInstanceId("media");
const log = createLogger({
  service: "media",
  instance,
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
  secrets: configSecrets(config),
});
const bus = await connectBus({ url: config.NATS_URL, name: instance, log });
const redis = connectRedis(config, log, instance);
const store = new CallStore(redis, { durable: durableWrites(config, log) });
// The built-in agent's phrases as the recogniser's grammar make offline recognition near-exact.
const grammar =
  !config.STT_GRAMMAR && config.STT_VOCABULARY === "script" ? jsgfGrammar(loadScript(config.AGENT_SCRIPT)) : undefined;
const speech = await createSpeechPipelineFactory(config, {
  log,
  grammar,
  // Open vocabulary only (a grammar decode has its garbage model already): its own decoder thread costs a model load.
  secondOpinion:
    config.BARGE_IN_SECOND_OPINION && config.STT_VOCABULARY === "open" && !config.STT_GRAMMAR
      ? secondOpinionGrammar()
      : undefined,
});
const app = createApp({ config, bus, store, log, speech, instanceId: instance });

await new Promise<void>((r) => app.server.listen(config.PORT, r));
log.info({ port: config.PORT, vad: speech.vadLabel, stt: speech.sttLabel }, "media listening");

const heartbeat = () => store.heartbeat({ service: "media", instance, ts: Date.now(), load: app.streams.live }, 6000);
await heartbeat().catch(() => undefined);
const stopHeartbeat = every(2000, heartbeat, log);

// SIGTERM: stop listening (Caddy's dial fails and it tries another replica), let calls finish up to
// the drain timeout, then close the rest with 1001 so Twilio runs the <Redirect> and reconnects elsewhere.
onShutdown(log, config.DRAIN_TIMEOUT_MS + config.SHUTDOWN_TIMEOUT_MS, async () => {
  await app.drain(config.DRAIN_TIMEOUT_MS);
  stopHeartbeat();
  await app.close();
  await speech.close();
  await bus.drain();
  redis.disconnect();
});
