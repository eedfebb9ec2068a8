import { createServer, type Server } from "node:http";
import express from "express";
import type { Bus } from "@voicecall/bus";
import type { CallStore } from "@voicecall/store";
import type { Logger } from "@voicecall/log";
import { createMetrics, healthRouter, metricsRouter } from "@voicecall/runtime";
import { bargeInConfig, type MediaConfig } from "./config";
import type { SpeechPipelineFactory } from "./speech/types";
import { StreamServer } from "./server";
import { createRealtimeModel, realtimeBridges, type RealtimeModel } from "./realtime/index";

export interface AppDeps {
  config: MediaConfig;
  bus: Bus;
  store: CallStore;
  log: Logger;
  /** Speech in (VAD → STT), one per worker; `createSpeechPipelineFactory` in production. */
  speech: SpeechPipelineFactory;
  /** The realtime voice model for `engine: realtime` calls; default from config (`REALTIME_*`, no I/O until a call). */
  realtime?: RealtimeModel;
  /** This worker's id (lease owner, `worker` in events). */
  instanceId: string;
}

export interface App {
  /** HTTP server: `/healthz`, `/readyz`, and the `/voice/stream` upgrade. Not listening yet. */
  server: Server;
  streams: StreamServer;
  /** SIGTERM path: stop listening (new streams go to other replicas), let calls finish up to `timeoutMs`, then close the rest with 1001. */
  drain(timeoutMs: number): Promise<void>;
  /** Close the HTTP server; streams still open are dropped as in a crash (use `drain` first). */
  close(): Promise<void>;
}

/** Wire the media service from its dependencies. No process side effects. */
export function createApp(d: AppDeps): App {
  const app = express();
  app.disable("x-powered-by");
  const server = createServer(app);
  const metrics = createMetrics("media", { activeCalls: () => streams.live });
  const streams: StreamServer = new StreamServer(server, {
    metrics,
    cfg: d.config,
    bus: d.bus,
    store: d.store,
    log: d.log,
    speech: d.speech,
    bargeIn: bargeInConfig(d.config),
    realtime: realtimeBridges({
      bus: d.bus,
      store: d.store,
      model: d.realtime ?? createRealtimeModel(d.config),
      cfg: d.config,
      bargeIn: d.config.BARGE_IN_ENABLED,
    }),
    worker: d.instanceId,
  });
  app.use(
    healthRouter({ bus: d.bus, redis: d.store.redis, notReady: () => (streams.isDraining ? "draining" : undefined) }),
  );
  app.use(metricsRouter(metrics));
  return {
    server,
    streams,
    drain: async (timeoutMs) => {
      // Stop listening: a new upgrade is then refused at the TCP level, which Caddy retries on another
      // replica (lb_try_duration); it never retries a response, so a 503 here would reach Twilio.
      // Open sockets (live calls) are not affected and finish below.
      server.close();
      server.closeIdleConnections();
      await streams.drain(timeoutMs);
      await streams.close();
    },
    close: async () => {
      streams.kill();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
