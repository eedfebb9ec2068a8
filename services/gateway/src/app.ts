import express, { type Express, type NextFunction, type Request, type Response } from "express";
import type { Redis } from "ioredis";
import type { Subscription } from "nats";
import type { Bus } from "@voicecall/bus";
import type { Logger } from "@voicecall/log";
import { createMetrics, healthRouter, metricsRouter, every } from "@voicecall/runtime";
import type { CallStore } from "@voicecall/store";
import { CallLifecycle } from "./call-lifecycle";
import { subscribeCommands } from "./call-control";
import { amdCallback, statusCallback, streamStatusCallback } from "./callbacks";
import { callsApi } from "./calls-api";
import { proxyMatcher } from "./client-ip";
import type { GatewayConfig } from "./config";
import { defaultTuning, type GatewayContext, type GatewayTuning } from "./context";
import { RateLimiter } from "./rate-limit";
import { reapOnce, reconcileActiveCalls } from "./reaper";
import type { TwilioCalls } from "./twilio-calls";
import { verifyTwilioRequest } from "./twilio-request";
import { publicUrls } from "./twiml";
import { voiceWebhook } from "./voice-webhook";
import { phoneRouter } from "./phone/routes";
import { diagnosticsRouter } from "./diagnostics";
import { eventDelivery } from "./events/wiring";
import { eventsApi } from "./events/events-api";

export interface GatewayDeps {
  config: GatewayConfig;
  log: Logger;
  bus: Bus;
  redis: Redis;
  store: CallStore;
  twilio: TwilioCalls;
  tuning?: Partial<GatewayTuning>;
  now?: () => number;
  /** Readiness veto (e.g. draining). */
  notReady?: () => string | undefined;
}

export interface Gateway {
  app: Express;
  ctx: GatewayContext;
  /** Subscribe to commands and start the reaper (after reconciling active calls with Twilio). */
  start(): Promise<void>;
  /** Stop the reaper and the command subscription (the bus itself belongs to the caller). */
  stop(): Promise<void>;
}

/** Build the gateway from its dependencies; no process side effects (no listen, no signals, no env). */
export function createApp(d: GatewayDeps): Gateway {
  const now = d.now ?? Date.now;
  const tuning = { ...defaultTuning(d.config), ...d.tuning };
  const log = d.log;
  const ctx: GatewayContext = {
    config: d.config,
    tuning,
    log,
    bus: d.bus,
    store: d.store,
    lifecycle: new CallLifecycle(d.bus, d.store, log, now),
    twilio: d.twilio,
    urls: publicUrls(d.config.PUBLIC_URL),
    now,
  };
  if (d.config.TWILIO_SKIP_SIGNATURE)
    log.warn("TWILIO_SKIP_SIGNATURE=true: Twilio webhook signatures are NOT checked; anyone can forge call events");

  const app = express();
  const trusted = proxyMatcher(d.config.TRUSTED_PROXIES);
  app.set("trust proxy", (addr: string) => trusted(addr));
  app.disable("x-powered-by");
  app.use(healthRouter({ bus: d.bus, redis: d.redis, notReady: d.notReady }));
  const metrics = createMetrics("gateway", { activeCalls: async () => (await d.store.activeCallIds()).length });
  app.use(metricsRouter(metrics));

  const verify = verifyTwilioRequest({
    authToken: d.config.TWILIO_AUTH_TOKEN,
    publicUrl: d.config.PUBLIC_URL,
    skipSignature: d.config.TWILIO_SKIP_SIGNATURE,
    maxBodyBytes: tuning.maxBodyBytes,
    bodyTimeoutMs: tuning.bodyTimeoutMs,
    failures: new RateLimiter(tuning.failedSignaturesPerMinute, 60_000, now),
    log,
  });
  app.post("/voice/webhook", verify, voiceWebhook(ctx));
  app.post("/voice/status", verify, statusCallback(ctx));
  app.post("/voice/status/stream", verify, streamStatusCallback(ctx));
  app.post("/voice/amd", verify, amdCallback(ctx));
  app.use("/api/calls", callsApi(ctx));
  app.use("/api/diagnostics", diagnosticsRouter(ctx));
  app.use("/api/events", eventsApi(ctx));
  app.use("/phone", phoneRouter(ctx));
  app.use((_req: Request, res: Response) => void res.status(404).json({ error: "not found" }));
  app.use((err: Error, req: Request, res: Response, _next: NextFunction) => {
    log.error({ err, path: req.path }, "request failed");
    if (res.headersSent) return;
    res.status(500).type("text/plain").send("internal error");
  });

  let sub: Subscription | undefined;
  let stopReaper: (() => void) | undefined;
  const events = eventDelivery(ctx);
  return {
    app,
    ctx,
    async start() {
      sub = subscribeCommands(ctx);
      const n = await reconcileActiveCalls(ctx).catch((err) => {
        log.error({ err: (err as Error).message }, "reconcile at start failed");
        return 0;
      });
      log.info({ activeCalls: n }, "active calls reconciled");
      stopReaper = every(tuning.reaperIntervalMs, () => reapOnce(ctx), log);
      events.start();
    },
    async stop() {
      stopReaper?.();
      await events.stop();
      sub?.unsubscribe();
    },
  };
}
