import type { Request, Response, Router } from "express";
import express from "express";
import type { Redis } from "ioredis";
import type { Bus } from "@voicecall/bus";

export interface HealthDeps {
  bus?: Bus;
  redis?: Redis;
  /** Extra readiness check (e.g. "not draining"); return a reason string when not ready. */
  notReady?: () => string | undefined;
}

/** `/healthz` (process alive) and `/readyz` (NATS and Redis reachable, not draining). */
export function healthRouter(d: HealthDeps): Router {
  const r = express.Router();
  r.get("/healthz", (_req: Request, res: Response) => {
    res.json({ ok: true });
  });
  r.get("/readyz", async (_req: Request, res: Response) => {
    const problems: string[] = [];
    if (d.bus && (d.bus.nc.isClosed() || d.bus.nc.isDraining())) problems.push("nats closed");
    if (d.redis) {
      const pong = await Promise.race([
        d.redis.ping().catch(() => "err"),
        new Promise((r) => setTimeout(() => r("timeout"), 1000)),
      ]);
      if (pong !== "PONG") problems.push(`redis ${pong}`);
    }
    const extra = d.notReady?.();
    if (extra) problems.push(extra);
    res.status(problems.length ? 503 : 200).json({ ok: problems.length === 0, problems });
  });
  return r;
}
