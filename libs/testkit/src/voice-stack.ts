import { request } from "node:https";
import { CallStore, connectRedis } from "@voicecall/store";
import { connectBus, type Bus } from "@voicecall/bus";
import { startSimulator, type Simulator, type SimulatorOptions } from "@voicecall/twilio-sim";
import { testLogger } from "./log";
import { freePort } from "./ports";
import { startServers, type ServerOptions, type Servers } from "./servers";
import { generateSecrets, startStack, type Stack, type StackOptions } from "./stack";

export interface VoiceStack {
  stack: Stack;
  sim: Simulator;
  /** The gateway API through Caddy TLS, with the stack's bearer token. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  /** Direct views for assertions (the same Redis and NATS as the services). */
  store: CallStore;
  bus: Bus;
  stop(): Promise<void>;
}

export type VoiceStackOptions = Omit<StackOptions, "twilioApiBaseUrl" | "startServers" | "secrets"> & {
  sim?: Omit<SimulatorOptions, "accountSid" | "authToken" | "ca" | "port">;
  /** The NATS/Redis/Caddy to run on; default `startServers` (one of each). */
  servers?: (o: Pick<ServerOptions, "caddy">) => Promise<Servers>;
};

/**
 * The whole stack (NATS, Redis, Caddy TLS, gateway, media ×N, tts, agent) with a Twilio simulator
 * as its Twilio: the gateway's `twilio` client talks to the simulator, and the simulator calls the
 * stack's public https/wss URLs through Caddy, signed with the stack's auth token.
 */
export async function startVoiceStack(o: VoiceStackOptions = {}): Promise<VoiceStack> {
  const secrets = generateSecrets();
  const simPort = await freePort();
  let sim: Simulator | undefined;
  const stack = await startStack({
    ...o,
    secrets,
    twilioApiBaseUrl: `http://127.0.0.1:${simPort}`,
    startServers: async (routes) => {
      const servers = await (o.servers ?? startServers)({ caddy: { routes } });
      sim = await startSimulator({
        ...o.sim,
        port: simPort,
        accountSid: secrets.TWILIO_ACCOUNT_SID,
        authToken: secrets.TWILIO_AUTH_TOKEN,
        ca: servers.caddy!.ca,
      });
      return servers;
    },
  }).catch(async (err) => {
    await sim?.stop();
    throw err;
  });
  const { log } = testLogger("e2e", "warn");
  const redis = connectRedis({ REDIS_URL: stack.servers.redisUrl, ...stack.servers.env }, log, "e2e");
  const store = new CallStore(redis);
  const bus = await connectBus({ url: stack.servers.natsUrl, name: "e2e", log });

  const api = <T>(method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; json: T }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        stack.origin + path,
        {
          method,
          ca: stack.ca,
          headers: {
            authorization: `Bearer ${secrets.API_TOKEN}`,
            ...(payload ? { "content-type": "application/json" } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            let json: unknown = text;
            try {
              json = JSON.parse(text);
            } catch {
              /* not JSON: keep the text */
            }
            resolve({ status: res.statusCode ?? 0, json: json as T });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });

  return {
    stack,
    sim: sim!,
    api,
    store,
    bus,
    async stop() {
      await sim?.stop().catch(() => undefined);
      await bus.drain().catch(() => undefined);
      redis.disconnect();
      await stack.stop();
    },
  };
}
