import { createServer } from "node:http";
import { connectBus } from "@voicecall/bus";
import { loadConfig } from "@voicecall/config";
import { configSecrets, createLogger } from "@voicecall/log";
import { defaultInstanceId, every, onShutdown } from "@voicecall/runtime";
import { CallStore, connectRedis, durableWrites } from "@voicecall/store";
import { createApp } from "./app";
import { GatewayConfigSchema, eventSettings, twilioOffReason, twilioSettings } from "./config";
import { createTwilioCalls, twilioNotConfigured } from "./twilio-calls";

const config = loadConfig(GatewayConfigSchema);
let account: ReturnType<typeof twilioSettings>;
try {
  account = twilioSettings(config);
  eventSettings(config);
} catch (err) {
  process.stderr.write((err as Error).message + "\n");
  process.exit(1);
}
const instance = config.INSTANCE_ID ?? defaultInstanceId("gateway");
const log = createLogger({
  service: "gateway",
  instance,
  level: config.LOG_LEVEL,
  pretty: config.LOG_PRETTY,
  secrets: configSecrets(config),
});

const redis = connectRedis(config, log, instance);
const store = new CallStore(redis, { retentionMs: config.CALL_RETENTION_MS, durable: durableWrites(config, log) });
const bus = await connectBus({ url: config.NATS_URL, name: instance, log });
const off = twilioOffReason(config);
const twilio =
  account && !off
    ? createTwilioCalls({
        accountSid: account.accountSid,
        authToken: account.authToken,
        apiBaseUrl: config.TWILIO_API_BASE_URL,
      })
    : twilioNotConfigured(off);
if (off) log.warn({ reason: off }, "phone calls are off: no real Twilio account (the browser phone works)");

let draining = false;
const gateway = createApp({
  config,
  log,
  bus,
  redis,
  store,
  twilio,
  notReady: () => (draining ? "draining" : undefined),
});
const server = createServer(gateway.app);
// Twilio waits 15 s for a webhook answer; slow clients must not hold sockets longer.
server.requestTimeout = 15_000;
server.headersTimeout = 10_000;
server.listen(config.PORT, () =>
  log.info(
    { port: config.PORT, publicUrl: config.PUBLIC_URL, simulator: !!config.TWILIO_API_BASE_URL },
    "gateway listening",
  ),
);

await gateway.start();
const beat = () =>
  store
    .activeCallIds()
    .then((ids) => store.heartbeat({ service: "gateway", instance, ts: Date.now(), load: ids.length }, 6_000));
void beat().catch(() => undefined);
const stopBeat = every(2_000, beat, log);

onShutdown(log, config.SHUTDOWN_TIMEOUT_MS, async () => {
  draining = true;
  stopBeat();
  await gateway.stop();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await bus.drain();
  await redis.quit();
});
