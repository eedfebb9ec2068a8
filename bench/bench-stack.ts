/**
 * The bench's stack: the real services and, beside them, the limit server (bench/limit/server.ts) behind
 * the same Caddy (`/limit/*`), on the same NATS and Redis; the simulated callers in a driver pool of
 * worker threads whose dispatcher is the stack's Twilio REST API.
 */
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import {
  freePort,
  generateSecrets,
  startProc,
  startServers,
  startStack,
  waitFor,
  type Proc,
  type Stack,
  type StackOptions,
} from "@voicecall/testkit";
import { startDriverPool, type DriverPool } from "./driver-pool";
import { LIMIT_KEYS } from "./limit/keys";

export interface BenchStack {
  stack: Stack;
  pool: DriverPool;
  limit: Proc;
  limitPid: number;
  redis: Redis;
  stop(): Promise<void>;
}

const LIMIT_ENTRY = fileURLToPath(new URL("./limit/server.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("..", import.meta.url));

export async function startBenchStack(
  o: Pick<StackOptions, "mediaReplicas" | "env" | "serviceEnv"> & {
    workers: number;
    rttMs: number;
    jitterMs: number;
    limitAudio: { greeting: Uint8Array; reply: Uint8Array };
    dgUrl: string;
    dgKey: string;
  },
): Promise<BenchStack> {
  const secrets = generateSecrets();
  const simPort = await freePort();
  const limitPort = await freePort();
  const stack = await startStack({
    ...o,
    secrets,
    twilioApiBaseUrl: `http://127.0.0.1:${simPort}`,
    startServers: (routes) =>
      startServers({ caddy: { routes: [...routes, { path: "/limit/*", upstreams: [`127.0.0.1:${limitPort}`] }] } }),
  });
  const redis = new Redis(stack.servers.redisUrl);
  let limit: Proc | undefined;
  let pool: DriverPool | undefined;
  try {
    await redis.set(LIMIT_KEYS.greeting, Buffer.from(o.limitAudio.greeting));
    await redis.set(LIMIT_KEYS.reply, Buffer.from(o.limitAudio.reply));
    limit = startProc(
      process.execPath,
      ["--import", "tsx", LIMIT_ENTRY],
      {
        ...process.env,
        PORT: String(limitPort),
        REDIS_URL: stack.servers.redisUrl,
        NATS_URL: stack.servers.natsUrl,
        STREAM_TOKEN_SECRET: secrets.STREAM_TOKEN_SECRET,
        PUBLIC_URL: stack.origin,
        DEEPGRAM_URL: o.dgUrl,
        DEEPGRAM_API_KEY: o.dgKey,
      },
      ROOT,
    );
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${limitPort}/readyz`).catch(() => undefined))?.ok,
      "limit server ready",
      60_000,
      100,
    );
    pool = await startDriverPool({
      workers: o.workers,
      port: simPort,
      accountSid: secrets.TWILIO_ACCOUNT_SID,
      authToken: secrets.TWILIO_AUTH_TOKEN,
      ca: stack.ca.toString(),
      origin: stack.origin,
      apiToken: secrets.API_TOKEN,
      natsUrl: stack.servers.natsUrl,
      rttMs: o.rttMs,
      jitterMs: o.jitterMs,
    });
  } catch (err) {
    await limit?.stop().catch(() => undefined);
    redis.disconnect();
    await stack.stop();
    throw err;
  }
  const lim = limit;
  return {
    stack,
    pool,
    limit: lim,
    limitPid: lim.child.pid!,
    redis,
    async stop() {
      await pool?.stop().catch(() => undefined);
      await lim.stop().catch(() => undefined);
      redis.disconnect();
      await stack.stop();
    },
  };
}
