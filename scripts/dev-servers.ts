/**
 * NATS, Redis and Caddy for `npm run dev`: like testkit's `startServers`, but on the usual ports when they
 * are free (so a hand-started service finds them with its defaults) and Caddy's CA kept under tmp/dev,
 * so a browser or client that trusts it once keeps trusting it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  requireBinary,
  startProc,
  testCaddyfile,
  waitFor,
  waitForPort,
  type CaddyRoute,
  type Proc,
  type Servers,
} from "@voicecall/testkit";

export interface DevServerOptions {
  /** Working directory for data (Caddy's CA persists in `<dir>/caddy`). */
  dir: string;
  ports: { nats: number; redis: number; https: number; http: number };
  onLine?: (name: string, line: string) => void;
}

export type DevServers = Servers & { /** Current process ids of nats, redis and caddy. */ pids(): number[] };

export async function startDevServers(routes: CaddyRoute[], o: DevServerOptions): Promise<DevServers> {
  for (const b of ["nats-server", "redis-server", "caddy"]) requireBinary(b);
  mkdirSync(o.dir, { recursive: true });
  const run = mkdtempSync(join(o.dir, "run-"));
  const procs: Record<string, Proc | undefined> = {};
  const start = async (name: string, cmd: string, args: string[], port: number, env = process.env) => {
    const p = startProc(cmd, args, env, run);
    procs[name] = p;
    if (o.onLine)
      for (const s of [p.child.stdout!, p.child.stderr!])
        createInterface({ input: s }).on("line", (l) => o.onLine!(name, l));
    await waitForPort(port, "127.0.0.1", 15_000).catch((e: Error) => {
      throw new Error(`${name} did not start: ${e.message}\n${p.output()}`);
    });
  };
  const natsConf = join(run, "nats.conf");
  writeFileSync(
    natsConf,
    `jetstream { store_dir: "${join(run, "js")}", max_memory_store: 64MB, max_file_store: 256MB }\n`,
  );
  const startNats = () =>
    start("nats", "nats-server", ["-a", "127.0.0.1", "-p", String(o.ports.nats), "-c", natsConf], o.ports.nats);
  const startRedis = () =>
    start(
      "redis",
      "redis-server",
      ["--port", String(o.ports.redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", run],
      o.ports.redis,
    );
  const caddyDir = join(o.dir, "caddy");
  const caddyfile = join(run, "Caddyfile");
  const caddyEnv = {
    ...process.env,
    HOME: caddyDir,
    XDG_DATA_HOME: join(caddyDir, "xdg-data"),
    XDG_CONFIG_HOME: join(caddyDir, "xdg-config"),
  };
  const startCaddy = async (r: CaddyRoute[]) => {
    writeFileSync(caddyfile, testCaddyfile(join(caddyDir, "data"), o.ports.https, o.ports.http, r));
    await start("caddy", "caddy", ["run", "--config", caddyfile, "--adapter", "caddyfile"], o.ports.https, caddyEnv);
  };
  const stopAll = async () => {
    for (const n of ["caddy", "redis", "nats"]) await procs[n]?.stop();
    rmSync(run, { recursive: true, force: true });
  };
  try {
    await startNats();
    await startRedis();
    await startCaddy(routes);
    const caPath = join(caddyDir, "data", "pki", "authorities", "local", "root.crt");
    await waitFor(() => existsSync(caPath), "caddy local CA");
    return {
      natsUrl: `nats://127.0.0.1:${o.ports.nats}`,
      redisUrl: `redis://127.0.0.1:${o.ports.redis}`,
      natsPort: o.ports.nats,
      redisPort: o.ports.redis,
      caddy: {
        httpsPort: o.ports.https,
        origin: `https://localhost:${o.ports.https}`,
        ca: readFileSync(caPath),
        caPath,
        async setRoutes(r) {
          await procs.caddy?.stop();
          await startCaddy(r);
        },
        stop: async () => procs.caddy?.stop(),
      },
      async restartRedis() {
        await procs.redis?.stop();
        await startRedis();
      },
      async restartNats() {
        await procs.nats?.stop();
        await startNats();
      },
      stop: stopAll,
      pids: () => Object.values(procs).flatMap((p) => (p?.child.pid ? [p.child.pid] : [])),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
