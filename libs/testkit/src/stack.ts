import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { freePort, waitFor } from "./ports";
import { startProc, type Proc } from "./proc";
import { startServers, type CaddyRoute, type Servers } from "./servers";

export type ServiceName = "gateway" | "media" | "tts" | "agent";
export const SERVICE_NAMES: readonly ServiceName[] = ["gateway", "media", "tts", "agent"];

/** Paths Caddy sends to the gateway; the same list as caddy/Caddyfile (a test keeps them equal). */
export const GATEWAY_PATHS = ["/voice/webhook*", "/voice/status*", "/voice/amd*", "/api/*", "/phone*"] as const;
/** Path Caddy sends to the media replicas (WebSocket). */
export const MEDIA_PATH = "/voice/stream*";

/** Secrets one stack run shares between its services (and the Twilio simulator / API clients of a test). */
export interface StackSecrets {
  TWILIO_ACCOUNT_SID: string;
  TWILIO_AUTH_TOKEN: string;
  API_TOKEN: string;
  STREAM_TOKEN_SECRET: string;
}

export interface StackOptions {
  /** Services to run; default all four. */
  services?: readonly ServiceName[];
  /** Number of media processes behind Caddy; default 1. */
  mediaReplicas?: number;
  /** Origin of a Twilio simulator, passed as TWILIO_API_BASE_URL. */
  twilioApiBaseUrl?: string;
  /** Override generated secrets (e.g. to share the auth token with a simulator created first). */
  secrets?: Partial<StackSecrets>;
  /** Extra env for every service. */
  env?: Record<string, string>;
  /** Extra env per service (wins over `env`). */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Skip services without `src/main.ts` (with a warning) instead of failing. */
  allowMissing?: boolean;
  /** Fixed ports (dev); index i of `media` is replica i. Default: free random ports. */
  ports?: Partial<Record<Exclude<ServiceName, "media">, number>> & { media?: number[] };
  /** Start NATS/Redis/Caddy with these routes; default `startServers({caddy: {routes}})`. */
  startServers?: (routes: CaddyRoute[]) => Promise<Servers>;
  /** Each output line of each service (e.g. for a prefixed log stream). */
  onLine?: (instance: string, line: string) => void;
  /** Warnings (skipped services); default console.warn. */
  warn?: (msg: string) => void;
  /** How long each service may take to answer /readyz 200; default 60 s (tsx compiles at start). */
  readyTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL on stop/restart; default 15 s. */
  stopGraceMs?: number;
  /** Repository root; default found from this file. */
  root?: string;
}

export interface ServiceHandle {
  name: ServiceName;
  /** e.g. `media-1`; also its INSTANCE_ID. */
  instance: string;
  port: number;
  /** `http://127.0.0.1:<port>` (direct, bypassing Caddy). */
  url: string;
  /** The current process (replaced by `restart()`). */
  proc: Proc;
  /** Everything the instance printed, across restarts. */
  logs(): string;
  /** SIGTERM (graceful), then start again on the same port and wait for /readyz 200. */
  restart(): Promise<void>;
  /** SIGKILL the process and wait for it to exit (call `restart()` to bring it back). */
  kill9(): Promise<void>;
  /** SIGTERM, SIGKILL after the grace period. */
  stop(): Promise<void>;
  running(): boolean;
}

export interface Stack {
  servers: Servers;
  /** The public origin (Caddy, `tls internal`), e.g. `https://localhost:43123`; PUBLIC_URL of the services. */
  origin: string;
  /** Caddy's root CA (PEM) for https/wss clients. */
  ca: Buffer;
  secrets: StackSecrets;
  services: { gateway?: ServiceHandle; media: ServiceHandle[]; tts?: ServiceHandle; agent?: ServiceHandle };
  /** A running service (media replica `i`), or an error naming it when it was skipped. */
  get(name: ServiceName, i?: number): ServiceHandle;
  /** Every instance, in start order. */
  all(): ServiceHandle[];
  stop(): Promise<void>;
}

const defaultRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const live = new Set<Proc>();
let exitHook = false;

/** Generated per run: nothing in a test depends on a fixed secret. */
export function generateSecrets(): StackSecrets {
  return {
    TWILIO_ACCOUNT_SID: `AC${randomBytes(16).toString("hex")}`,
    TWILIO_AUTH_TOKEN: randomBytes(16).toString("hex"),
    API_TOKEN: randomBytes(24).toString("hex"),
    STREAM_TOKEN_SECRET: randomBytes(32).toString("hex"),
  };
}

/** Caddy routes of the stack: the gateway paths and the stream path over every media replica. */
export function stackRoutes(gatewayPort: number | undefined, mediaPorts: number[]): CaddyRoute[] {
  const routes: CaddyRoute[] = [];
  if (gatewayPort) for (const path of GATEWAY_PATHS) routes.push({ path, upstreams: [`127.0.0.1:${gatewayPort}`] });
  if (mediaPorts.length) routes.push({ path: MEDIA_PATH, upstreams: mediaPorts.map((p) => `127.0.0.1:${p}`) });
  return routes;
}

/**
 * The whole voicecall stack as local processes: real NATS, Redis and Caddy (`startServers`) plus each
 * service as `node --import tsx services/<name>/src/main.ts`, every one answering /readyz 200.
 */
export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const root = o.root ?? defaultRoot;
  const warn = o.warn ?? ((m: string) => console.warn(m));
  const wanted = o.services ?? SERVICE_NAMES;
  const present: ServiceName[] = [];
  for (const name of wanted) {
    if (existsSync(join(root, "services", name, "src", "main.ts"))) present.push(name);
    else if (o.allowMissing) warn(`startStack: services/${name}/src/main.ts is missing: ${name} not started`);
    else throw new Error(`startStack: services/${name}/src/main.ts is missing (pass allowMissing to skip it)`);
  }
  const replicas = present.includes("media") ? (o.mediaReplicas ?? 1) : 0;
  const port = async (fixed?: number) => fixed ?? (await freePort());
  const plan: { name: ServiceName; instance: string; port: number }[] = [];
  for (const name of present) {
    if (name === "media") {
      for (let i = 0; i < replicas; i++)
        plan.push({ name, instance: `media-${i}`, port: await port(o.ports?.media?.[i]) });
    } else plan.push({ name, instance: name, port: await port(o.ports?.[name]) });
  }
  const gatewayPort = plan.find((p) => p.name === "gateway")?.port;
  const mediaPorts = plan.filter((p) => p.name === "media").map((p) => p.port);
  const routes = stackRoutes(gatewayPort, mediaPorts);
  const servers = await (o.startServers ?? ((r) => startServers({ caddy: { routes: r } })))(routes);
  if (!servers.caddy) {
    await servers.stop();
    throw new Error("startStack: startServers must start Caddy");
  }
  const secrets = { ...generateSecrets(), ...o.secrets };
  const common: Record<string, string> = {
    NATS_URL: servers.natsUrl,
    REDIS_URL: servers.redisUrl,
    ...servers.env,
    PUBLIC_URL: servers.caddy.origin,
    LOG_LEVEL: "info",
    TWILIO_FROM_NUMBER: "+15005550006",
    ...secrets,
    ...(o.twilioApiBaseUrl ? { TWILIO_API_BASE_URL: o.twilioApiBaseUrl } : {}),
    ...o.env,
  };
  const handles = plan.map((p) =>
    serviceHandle(
      p,
      { ...process.env, ...common, ...o.serviceEnv?.[p.name], PORT: String(p.port), INSTANCE_ID: p.instance },
      root,
      o,
    ),
  );
  const stopAll = async () => {
    await Promise.all(handles.map((h) => h.stop()));
    await servers.stop();
  };
  try {
    await Promise.all(handles.map((h) => h.start()));
  } catch (err) {
    await stopAll();
    throw err;
  }
  const by = (n: ServiceName) => handles.find((h) => h.name === n);
  const services = {
    gateway: by("gateway"),
    media: handles.filter((h) => h.name === "media"),
    tts: by("tts"),
    agent: by("agent"),
  };
  return {
    servers,
    origin: servers.caddy.origin,
    ca: servers.caddy.ca,
    secrets,
    services,
    get(name, i = 0) {
      const h = name === "media" ? services.media[i] : services[name];
      if (!h)
        throw new Error(
          `startStack: ${name}${name === "media" ? `[${i}]` : ""} is not running (skipped or not requested)`,
        );
      return h;
    },
    all: () => [...handles],
    stop: stopAll,
  };
}

type Internal = ServiceHandle & { start(): Promise<void> };

function serviceHandle(
  p: { name: ServiceName; instance: string; port: number },
  env: NodeJS.ProcessEnv,
  root: string,
  o: StackOptions,
): Internal {
  const url = `http://127.0.0.1:${p.port}`;
  const graceMs = o.stopGraceMs ?? 15_000;
  let past = "";
  let proc: Proc | undefined;
  const running = () => !!proc && proc.child.exitCode === null && proc.child.signalCode === null;
  const start = async () => {
    if (proc) past += proc.output();
    const cur = startProc(process.execPath, ["--import", "tsx", join("services", p.name, "src", "main.ts")], env, root);
    proc = cur;
    track(cur);
    if (o.onLine) {
      for (const s of [cur.child.stdout!, cur.child.stderr!])
        createInterface({ input: s }).on("line", (l) => o.onLine!(p.instance, l));
    }
    let exited: number | null | undefined;
    void cur.exited.then((c) => (exited = c));
    await waitFor(
      async () => {
        if (exited !== undefined) throw new Error(`exited with code ${exited}`);
        const r = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
        return r?.status === 200;
      },
      `${p.instance} /readyz 200 on port ${p.port}`,
      o.readyTimeoutMs ?? 60_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${p.instance} output ---\n${cur.output().slice(-4000)}`);
    });
  };
  const handle: Internal = {
    ...p,
    url,
    get proc() {
      if (!proc) throw new Error(`${p.instance} was never started`);
      return proc;
    },
    logs: () => past + (proc?.output() ?? ""),
    running,
    start,
    async stop() {
      if (proc) await proc.stop(graceMs);
    },
    async restart() {
      if (proc) await proc.stop(graceMs);
      await start();
    },
    async kill9() {
      if (!proc || !running()) return;
      proc.kill9();
      await proc.exited;
    },
  };
  return handle;
}

/** Last resort: if the parent exits without `stop()`, leave no service process behind. */
function track(p: Proc): void {
  live.add(p);
  void p.exited.then(() => live.delete(p));
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const q of live) q.kill9();
  });
}

/** The variables `voicecall` (the CLI) needs to work against this stack. */
export function cliEnvFor(s: Stack, fromNumber = "+15005550006"): Record<string, string> {
  return {
    API_URL: s.get("gateway").url,
    API_TOKEN: s.secrets.API_TOKEN,
    PUBLIC_URL: s.origin,
    NATS_URL: s.servers.natsUrl,
    REDIS_URL: s.servers.redisUrl,
    TWILIO_ACCOUNT_SID: s.secrets.TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: s.secrets.TWILIO_AUTH_TOKEN,
    TWILIO_FROM_NUMBER: fromNumber,
  };
}
