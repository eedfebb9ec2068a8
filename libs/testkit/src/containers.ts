import type { ServerOptions, Servers } from "./servers";

/** True when testcontainers can reach a Docker engine (fails fast, ~ms, when there is none). */
export async function dockerAvailable(): Promise<boolean> {
  try {
    const tc = await import("testcontainers");
    return await tc.getContainerRuntimeClient().then(
      () => true,
      () => false,
    );
  } catch {
    return false;
  }
}

/** The same servers as containers (nats:2-alpine, redis:7-alpine); Caddy stays a local binary. */
export async function startContainers(o: ServerOptions): Promise<Servers> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const nats = await new GenericContainer("nats:2-alpine")
    .withCommand(["-js", "-m", "8222"])
    .withExposedPorts(4222, 8222)
    .withWaitStrategy(Wait.forHttp("/healthz", 8222))
    .start();
  const redis = await new GenericContainer("redis:7-alpine")
    .withCommand(["redis-server", "--appendonly", "yes", "--appendfsync", "always"])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage("Ready to accept connections"))
    .start();
  const natsPort = nats.getMappedPort(4222);
  const redisPort = redis.getMappedPort(6379);
  let caddy: Servers["caddy"];
  if (o.caddy) {
    const { startServers } = await import("./servers");
    const local = await startServers({ nats: false, redis: false, caddy: o.caddy, backend: "path" });
    caddy = local.caddy;
  }
  return {
    natsUrl: `nats://${nats.getHost()}:${natsPort}`,
    redisUrl: `redis://${redis.getHost()}:${redisPort}`,
    natsPort,
    redisPort,
    caddy,
    restartRedis: async () => {
      await redis.restart();
    },
    restartNats: async () => {
      await nats.restart();
    },
    async stop() {
      await caddy?.stop();
      await nats.stop();
      await redis.stop();
    },
  };
}
