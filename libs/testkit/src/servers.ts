import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor, waitForPort } from "./ports";
import { requireBinary, startProc, type Proc } from "./proc";
import { dockerAvailable, startContainers } from "./containers";
import { redisServerArgs } from "./redis-args";

export interface CaddyRoute {
  /** Caddy path matcher, e.g. `/voice/stream*`. */
  path: string;
  /** `host:port` upstreams; several are load-balanced. */
  upstreams: string[];
}

export interface CaddyHandle {
  httpsPort: number;
  /** e.g. `https://localhost:43123` */
  origin: string;
  /** PEM of Caddy's local root CA: pass as `ca` to https/ws clients. */
  ca: Buffer;
  caPath: string;
  /** Replace the routes (rewrites the Caddyfile and restarts Caddy on the same port). */
  setRoutes(routes: CaddyRoute[]): Promise<void>;
  stop(): Promise<void>;
}

export interface Servers {
  natsUrl: string;
  redisUrl: string;
  natsPort: number;
  redisPort: number;
  caddy?: CaddyHandle;
  /** Extra env the services need to reach these servers (e.g. REDIS_SENTINELS); none for one of each. */
  env?: Record<string, string>;
  /** Restart redis-server on the same port and data dir (AOF: nothing lost). */
  restartRedis(): Promise<void>;
  /** Restart nats-server on the same port. */
  restartNats(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerOptions {
  nats?: boolean;
  redis?: boolean;
  /** Start Caddy with `tls internal` for `localhost` and these routes. */
  caddy?: { routes: CaddyRoute[] };
  /** Force a backend: PATH binaries or testcontainers. Default: containers when a Docker engine answers. */
  backend?: "path" | "containers";
}

/**
 * Real nats-server (JetStream), redis-server (AOF) and Caddy (`tls internal`) for integration tests,
 * on random loopback ports and temp dirs, torn down by `stop()`.
 * Uses testcontainers when a Docker engine is reachable, otherwise the binaries on PATH.
 */
export async function startServers(o: ServerOptions = {}): Promise<Servers> {
  const backend =
    o.backend ??
    (process.env.VOICECALL_TEST_BACKEND as "path" | "containers" | undefined) ??
    ((await dockerAvailable()) ? "containers" : "path");
  if (backend === "containers") return startContainers(o);
  return startFromPath(o);
}

async function startFromPath(o: ServerOptions): Promise<Servers> {
  const dir = mkdtempSync(join(tmpdir(), "vc-servers-"));
  const stops: (() => Promise<void>)[] = [];
  const useNats = o.nats !== false;
  const useRedis = o.redis !== false;
  let nats: Proc | undefined;
  let redis: Proc | undefined;
  const natsPort = useNats ? await freePort() : 0;
  const redisPort = useRedis ? await freePort() : 0;

  const startNats = async () => {
    requireBinary("nats-server");
    const conf = join(dir, "nats.conf");
    // Cap JetStream: by default it claims 75 % of RAM and disk.
    writeFileSync(
      conf,
      `jetstream { store_dir: "${join(dir, "js")}", max_memory_store: 64MB, max_file_store: 256MB }\n`,
    );
    nats = startProc("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort), "-c", conf]);
    await waitForPort(natsPort).catch((e) => {
      throw new Error(`${e.message}\n${nats!.output()}`);
    });
  };
  const startRedis = async () => {
    requireBinary("redis-server");
    redis = startProc("redis-server", redisServerArgs(redisPort, dir));
    await waitForPort(redisPort).catch((e) => {
      throw new Error(`${e.message}\n${redis!.output()}`);
    });
  };

  try {
    if (useNats) await startNats();
    if (useRedis) await startRedis();
    stops.push(
      async () => nats?.stop(),
      async () => redis?.stop(),
    );
    const caddy = o.caddy ? await startCaddyFromPath(dir, o.caddy.routes) : undefined;
    if (caddy) stops.push(() => caddy.stop());
    return {
      natsUrl: `nats://127.0.0.1:${natsPort}`,
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      natsPort,
      redisPort,
      caddy,
      async restartRedis() {
        await redis?.stop();
        await startRedis();
      },
      async restartNats() {
        await nats?.stop();
        await startNats();
      },
      async stop() {
        for (const s of stops.reverse()) await s().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await nats?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Caddyfile for tests: the same directives as caddy/Caddyfile, bound to loopback, no admin API. */
export function testCaddyfile(dataDir: string, httpsPort: number, httpPort: number, routes: CaddyRoute[]): string {
  // Passive health only where there is another upstream to go to (media), as in caddy/Caddyfile:
  // on a single gateway it would turn one failed request into seconds of 503 for everyone.
  const proxy = (r: CaddyRoute) =>
    r.upstreams.length > 1 || r.path.startsWith("/voice/stream")
      ? `reverse_proxy ${r.upstreams.join(" ")} {\n\t\t\tlb_policy round_robin\n\t\t\tlb_try_duration 2s\n\t\t\tfail_duration 5s\n\t\t\tunhealthy_status 503\n\t\t}`
      : `reverse_proxy ${r.upstreams.join(" ")}`;
  const handles = routes.map((r) => `\thandle ${r.path} {\n\t\t${proxy(r)}\n\t}`).join("\n");
  return `{
\tadmin off
\tstorage file_system ${dataDir}
\tskip_install_trust
\tdefault_bind 127.0.0.1
\thttps_port ${httpsPort}
\thttp_port ${httpPort}
\tservers {
\t\tprotocols h1 h2
\t\ttimeouts {
\t\t\tread_header 10s
\t\t}
\t}
}

localhost:${httpsPort} {
\ttls internal
${handles}
\thandle {
\t\trespond "no route" 404
\t}
}
`;
}

async function startCaddyFromPath(dir: string, routes: CaddyRoute[]): Promise<CaddyHandle> {
  requireBinary("caddy");
  const httpsPort = await freePort();
  const httpPort = await freePort();
  const dataDir = join(dir, "caddy-data");
  const file = join(dir, "Caddyfile");
  const env = {
    ...process.env,
    HOME: dir,
    XDG_DATA_HOME: join(dir, "xdg-data"),
    XDG_CONFIG_HOME: join(dir, "xdg-config"),
  };
  let proc: Proc | undefined;
  const start = async (r: CaddyRoute[]) => {
    writeFileSync(file, testCaddyfile(dataDir, httpsPort, httpPort, r));
    proc = startProc("caddy", ["run", "--config", file, "--adapter", "caddyfile"], env, dir);
    await waitForPort(httpsPort, "127.0.0.1", 15_000).catch((e) => {
      throw new Error(`caddy did not start: ${e.message}\n${proc!.output()}`);
    });
  };
  await start(routes);
  const caPath = join(dataDir, "pki", "authorities", "local", "root.crt");
  await waitFor(() => existsSync(caPath), "caddy local CA");
  return {
    httpsPort,
    origin: `https://localhost:${httpsPort}`,
    ca: readFileSync(caPath),
    caPath,
    async setRoutes(r) {
      await proc?.stop();
      await start(r);
    },
    stop: async () => proc?.stop(),
  };
}
