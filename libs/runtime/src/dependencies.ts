import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Redis } from "ioredis";
import type { Bus } from "@voicecall/bus";

export interface DependencyGateOptions {
  bus?: Bus;
  redis?: Redis;
  /** How long a ping may take before the dependency counts as unreachable. Default 1000 ms. */
  timeoutMs?: number;
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | "timeout"> =>
  Promise.race([p, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms).unref())]);

/**
 * What is wrong with NATS or Redis right now, or undefined when both answer. Never waits longer than
 * `timeoutMs`: ioredis queues commands while disconnected (and would make a request wait for as long as
 * Redis is away), so a client that is not `ready` is answered at once, and a ping bounds the rest.
 */
export async function dependencyProblem(o: DependencyGateOptions): Promise<string | undefined> {
  const ms = o.timeoutMs ?? 1000;
  const [nats, redis] = await Promise.all([
    (async () => {
      if (!o.bus) return undefined;
      if (o.bus.nc.isClosed() || !o.bus.connected) return "nats unreachable: not connected";
      const r = await within(
        o.bus.nc.flush().then(() => "ok"),
        ms,
      ).catch(() => "error");
      return r === "ok" ? undefined : `nats unreachable: no answer within ${ms} ms`;
    })(),
    (async () => {
      if (!o.redis) return undefined;
      if (o.redis.status !== "ready") return `redis unreachable: ${o.redis.status}`;
      const r = await within(o.redis.ping(), ms).catch(() => "error");
      return r === "PONG" ? undefined : `redis unreachable: no answer within ${ms} ms`;
    })(),
  ]);
  return [nats, redis].filter(Boolean).join("; ") || undefined;
}

/**
 * Express middleware for routes that need NATS and Redis: 503 `{error, reason}` at once (within
 * `timeoutMs`) when one is away, instead of a request that hangs until it comes back.
 */
export function dependencyGate(o: DependencyGateOptions): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    void dependencyProblem(o).then((problem) => {
      if (!problem) return next();
      res.status(503).json({ error: problem.split(";")[0]!.split(":")[0], reason: problem });
    }, next);
  };
}
