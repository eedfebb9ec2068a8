import type { NatsConnection } from "nats";
import type { Redis } from "ioredis";

/** What crossed NATS and Redis while the calls ran: for the capacity model (docs/scaling.md). */
export interface WireCount {
  redisCommands: number;
  natsMsgs: number;
  natsBytes: number;
  /** Messages by the last subject token (`evt`, `say`, `audio`, `ctl`, …). */
  natsBySubject: Record<string, number>;
  /** Redis commands by name (INFO commandstats), the counter's own INFO calls excluded. */
  redisByCommand: Record<string, number>;
}

const commandStats = async (r: Redis): Promise<Record<string, number>> =>
  Object.fromEntries(
    [...(await r.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]),
  );

const commandsProcessed = async (r: Redis) =>
  Number(/total_commands_processed:(\d+)/.exec(await r.info("stats"))?.[1] ?? NaN);

/**
 * Count every NATS message (a `>` subscriber: each publish seen once, payload + subject bytes) and the
 * Redis server's processed commands from now until `stop()`. The counter's own INFO calls (four) are not counted.
 */
export async function countWire(nc: NatsConnection, redis: Redis): Promise<{ stop(): Promise<WireCount> }> {
  const c: WireCount = { redisCommands: 0, natsMsgs: 0, natsBytes: 0, natsBySubject: {}, redisByCommand: {} };
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
  const s0 = await commandStats(redis);
  return {
    async stop() {
      c.redisCommands = (await commandsProcessed(redis)) - r0 - 2;
      for (const [cmd, n] of Object.entries(await commandStats(redis))) {
        const d = n - (s0[cmd] ?? 0);
        if (d > 0 && cmd !== "info") c.redisByCommand[cmd] = d;
      }
      sub.unsubscribe();
      return c;
    },
  };
}
