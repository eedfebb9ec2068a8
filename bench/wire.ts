import type { NatsConnection } from "nats";
import type { Redis } from "ioredis";

/** What crossed NATS and Redis while the calls ran: for the capacity model (docs/scaling.md). */
export interface WireCount {
  redisCommands: number;
  natsMsgs: number;
  natsBytes: number;
  /** Messages by the last subject token (`evt`, `say`, `audio`, `ctl`, …). */
  natsBySubject: Record<string, number>;
}

const commandsProcessed = async (r: Redis) =>
  Number(/total_commands_processed:(\d+)/.exec(await r.info("stats"))?.[1] ?? NaN);

/**
 * Count every NATS message (a `>` subscriber: each publish seen once, payload + subject bytes) and the
 * Redis server's processed commands from now until `stop()`. The counter's own INFO calls are two.
 */
export async function countWire(nc: NatsConnection, redis: Redis): Promise<{ stop(): Promise<WireCount> }> {
  const c: WireCount = { redisCommands: 0, natsMsgs: 0, natsBytes: 0, natsBySubject: {} };
  const sub = nc.subscribe(">", {
    callback: (_err, m) => {
      c.natsMsgs++;
      c.natsBytes += m.data.length + m.subject.length;
      const kind = m.subject.slice(m.subject.lastIndexOf(".") + 1);
      c.natsBySubject[kind] = (c.natsBySubject[kind] ?? 0) + 1;
    },
  });
  await nc.flush();
  const r0 = await commandsProcessed(redis);
  return {
    async stop() {
      c.redisCommands = (await commandsProcessed(redis)) - r0 - 1;
      sub.unsubscribe();
      return c;
    },
  };
}
