import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNatsCluster, type NatsCluster } from "./nats-cluster";
import { startRedisSentinel, type RedisSentinelSet } from "./redis-sentinel";
import { startServers, type CaddyRoute, type Servers } from "./servers";

/** `Servers` of a multi-host shape: a 3-node NATS cluster, Redis primary + replica under 3 sentinels, Caddy. */
export interface ClusterServers extends Servers {
  nats: NatsCluster;
  redis: RedisSentinelSet;
}

/**
 * The distributed engines the services run on beyond one machine, all real processes on loopback
 * (nats-server, redis-server, redis-sentinel, caddy from PATH). The services get every NATS node's
 * URL and the sentinels (`env`), as a multi-host deployment gives them.
 */
export async function startClusterServers(o: { caddy?: { routes: CaddyRoute[] } } = {}): Promise<ClusterServers> {
  const dir = mkdtempSync(join(tmpdir(), "vc-cluster-"));
  const stops: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nats = await startNatsCluster(dir);
    stops.push(() => nats.stop());
    const redis = await startRedisSentinel(dir);
    stops.push(() => redis.stop());
    const edge = await startServers({ nats: false, redis: false, caddy: o.caddy, backend: "path" });
    stops.push(() => edge.stop());
    return {
      nats,
      redis,
      natsUrl: nats.url,
      redisUrl: redis.url,
      natsPort: Number(new URL(nats.urls[0]!).port),
      redisPort: Number(new URL(redis.url).port),
      env: { REDIS_SENTINELS: redis.sentinels, REDIS_SENTINEL_NAME: redis.name },
      caddy: edge.caddy,
      async restartRedis() {
        await redis.failover();
      },
      async restartNats() {
        await nats.kill9(0);
        await nats.start(0);
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
