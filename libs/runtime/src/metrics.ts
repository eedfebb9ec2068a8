import client from "prom-client";
import type { Request, Response, Router } from "express";
import express from "express";

/**
 * One Prometheus registry per process, with the metrics every service shares. Service-specific
 * metrics are registered on the same registry by the service (`metrics.registry`).
 */
export function createMetrics(service: string, o: { activeCalls?: () => number | Promise<number> } = {}) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    activeCalls: new client.Gauge({
      name: "vc_active_calls",
      help: "Calls this instance is handling now",
      registers: [registry],
      async collect() {
        if (o.activeCalls) this.set(await o.activeCalls());
      },
    }),
    streams: new client.Gauge({ name: "vc_streams", help: "Media streams open on this worker", registers: [registry] }),
    framesIn: new client.Counter({
      name: "vc_frames_in_total",
      help: "Media frames received from Twilio",
      registers: [registry],
    }),
    framesOut: new client.Counter({
      name: "vc_frames_out_total",
      help: "Media bytes/160 sent to Twilio",
      registers: [registry],
    }),
    bargeIns: new client.Counter({
      name: "vc_barge_ins_total",
      help: "Barge-ins (clear sent)",
      labelNames: ["kind"],
      registers: [registry],
    }),
    errors: new client.Counter({
      name: "vc_errors_total",
      help: "Errors by kind",
      labelNames: ["kind"],
      registers: [registry],
    }),
    turnLatency: new client.Histogram({
      name: "vc_turn_latency_ms",
      help: "End of caller speech (or stream start, for greetings) to first reply audio sent, ms",
      labelNames: ["kind"],
      buckets: [5, 10, 20, 50, 100, 200, 400, 800, 1500, 3000, 6000],
      registers: [registry],
    }),
    playheadError: new client.Histogram({
      name: "vc_playhead_error_ms",
      help: "Media: how far an echoed mark moved the estimate of the caller's playhead, ms",
      buckets: [5, 10, 20, 40, 80, 160, 320],
      registers: [registry],
    }),
    ttsFirstChunk: new client.Histogram({
      name: "vc_tts_first_chunk_ms",
      help: "say received to first audio chunk published, ms",
      labelNames: ["provider", "cached"],
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers: [registry],
    }),
  };
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;

/** `GET /metrics` in Prometheus text format. */
export function metricsRouter(m: Metrics): Router {
  const r = express.Router();
  r.get("/metrics", async (_req: Request, res: Response) => {
    res.type(m.registry.contentType).send(await m.registry.metrics());
  });
  return r;
}
