import express, { type Express } from "express";
import type { Redis } from "ioredis";
import type { Bus } from "@voicecall/bus";
import type { Logger } from "@voicecall/log";
import { createMetrics, healthRouter, metricsRouter } from "@voicecall/runtime";
import type { CallStore } from "@voicecall/store";
import { PhraseCache } from "./cache";
import type { TextToSpeech } from "./providers";
import { Speaker } from "./speaker";

export interface AppDeps {
  bus: Bus;
  redis: Redis;
  store: CallStore;
  /** The configured provider stack (`createTts`), or any `TextToSpeech` in tests. */
  tts: TextToSpeech;
  log: Logger;
  cacheTtlMs: number;
  cacheMaxChars?: number;
  chunkBytes?: number;
  /** Set: calls are owned through a Redis lease, so any number of tts instances can run. */
  instanceId?: string;
}

export interface TtsApp {
  http: Express;
  speaker: Speaker;
  cache: PhraseCache;
  /** Subscribe to says, cancels, lifecycle and prerender requests. */
  start(): void;
  /** Stop taking work, finish utterances in flight (callers bound this with SHUTDOWN_TIMEOUT_MS). */
  close(): Promise<void>;
}

/** Wires the tts service from its dependencies; no process side effects. */
export function createApp(d: AppDeps): TtsApp {
  let draining = false;
  const cache = new PhraseCache(d.store, d.tts, d.log, { ttlMs: d.cacheTtlMs, maxChars: d.cacheMaxChars ?? 600 });
  const metrics = createMetrics("tts");
  const speaker = new Speaker(d.bus, cache, d.log, {
    chunkBytes: d.chunkBytes,
    ownership: d.instanceId ? { store: d.store, instance: d.instanceId } : undefined,
    greetings: d.store,
    onEvent: (e) => {
      if (e.type === "tts.first-chunk")
        metrics.ttsFirstChunk.observe({ provider: e.provider, cached: String(e.cached) }, e.latencyMs);
      else if (e.type === "tts.error") metrics.errors.inc({ kind: "tts" });
    },
  });
  const http = express();
  http.disable("x-powered-by");
  http.use(healthRouter({ bus: d.bus, redis: d.redis, notReady: () => (draining ? "draining" : undefined) }));
  http.use(metricsRouter(metrics));
  return {
    http,
    speaker,
    cache,
    start: () => speaker.start(),
    close: async () => {
      draining = true;
      await speaker.close();
    },
  };
}
