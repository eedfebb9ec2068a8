/**
 * Test-only wiring: real NATS + Redis (startServers), the gateway in-process on port 0, the Twilio
 * simulator's REST API reached through the real `twilio` library, and a signer.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type express from "express";
import type { Redis } from "ioredis";
import { twilioSignature } from "@voicecall/auth";
import { connectBus, type Bus } from "@voicecall/bus";
import { subjects } from "@voicecall/contracts";
import { CallStore, connectRedis } from "@voicecall/store";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import { startSimulator, type Simulator } from "@voicecall/twilio-sim";
import { createApp, type Gateway } from "../src/app";
import { parseGatewayConfig, twilioOffReason, type GatewayConfig } from "../src/config";
import type { GatewayTuning } from "../src/context";
import { twilioNotConfigured, createTwilioCalls } from "../src/twilio-calls";

export const AUTH_TOKEN = "test-auth-token-0123456789abcdef";
export const ACCOUNT_SID = "AC" + "0123456789abcdef".repeat(2);
export const API_TOKEN = "api-token-0123456789abcdef";
export const STREAM_SECRET = "stream-secret-0123456789abcdef";
export const PUBLIC_URL = "https://voice.example.test";

export const newCallSid = (): string => "CA" + randomBytes(16).toString("hex");

/**
 * Twilio's REST side: the simulator, with calls that ring until a test moves them on (`setStatus`) and
 * webhooks sent to a closed port, because these tests post Twilio's webhooks themselves.
 */
export function startTwilio(): Promise<Simulator> {
  return startSimulator({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    defaultOutcome: { ringMs: 3_600_000 },
    route: () => new URL("http://127.0.0.1:9/"),
  });
}

export function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
}
export const origin = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
export const close = (s: Server) =>
  new Promise<void>((r) => {
    s.close(() => r());
    s.closeAllConnections();
  });

export interface Harness {
  servers: Servers;
  redis: Redis;
  store: CallStore;
  bus: Bus;
  /** Twilio: `restRequests` is what the gateway asked of it since the last `reset()`. */
  sim: Simulator;
  /** Every message on vc.> (JSON-decoded) since the last `reset()`. */
  messages: { subject: string; data: Record<string, unknown> }[];
  reset(): Promise<void>;
  /** Resolve once every message published so far on the shared connection has come back. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const servers = await startServers();
  const { log } = testLogger("gateway-test", "warn");
  const redis = connectRedis(servers.redisUrl, log);
  const store = new CallStore(redis, { retentionMs: 3600_000 });
  const bus = await connectBus({ url: servers.natsUrl, name: "gateway-test", log });
  const sim = await startTwilio();
  const messages: Harness["messages"] = [];
  const sub = bus.nc.subscribe("vc.>");
  void (async () => {
    for await (const m of sub) {
      try {
        messages.push({ subject: m.subject, data: JSON.parse(new TextDecoder().decode(m.data)) });
      } catch {
        /* binary */
      }
    }
  })();
  await bus.flush();
  return {
    servers,
    redis,
    store,
    bus,
    sim,
    messages,
    async settle() {
      const id = `vc.test.settle.${Math.random().toString(36).slice(2)}`;
      bus.nc.publish(id, new TextEncoder().encode("{}"));
      await waitFor(() => messages.some((m) => m.subject === id), "bus settle");
      messages.splice(
        messages.findIndex((m) => m.subject === id),
        1,
      );
    },
    async reset() {
      await redis.flushall();
      messages.length = 0;
      sim.restRequests.length = 0;
    },
    async stop() {
      sub.unsubscribe();
      await bus.drain();
      redis.disconnect();
      await sim.stop();
      await servers.stop();
    },
  };
}

export interface RunningGateway {
  gw: Gateway;
  config: GatewayConfig;
  url: string;
  logs: ReturnType<typeof testLogger>;
  close(): Promise<void>;
}

/** The gateway in-process on port 0 with test config; `env` overrides config, `tuning` the knobs. */
export async function startGateway(
  h: Harness,
  env: Record<string, string> = {},
  tuning: Partial<GatewayTuning> = {},
  now?: () => number,
): Promise<RunningGateway> {
  const config = parseGatewayConfig({
    NATS_URL: h.servers.natsUrl,
    REDIS_URL: h.servers.redisUrl,
    PUBLIC_URL,
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_API_BASE_URL: h.sim.origin,
    TWILIO_FROM_NUMBER: "+14155550100",
    API_TOKEN,
    STREAM_TOKEN_SECRET: STREAM_SECRET,
    ...env,
  });
  const logs = testLogger("gateway", "debug");
  const gw = createApp({
    config,
    log: logs.log,
    bus: h.bus,
    redis: h.redis,
    store: new CallStore(h.redis, { retentionMs: config.CALL_RETENTION_MS }),
    twilio: twilioOffReason(config)
      ? twilioNotConfigured(twilioOffReason(config))
      : createTwilioCalls({
          accountSid: config.TWILIO_ACCOUNT_SID!,
          authToken: config.TWILIO_AUTH_TOKEN!,
          apiBaseUrl: config.TWILIO_API_BASE_URL,
        }),
    tuning: { failedSignaturesPerMinute: 1000, reaperIntervalMs: 3_600_000, ...tuning },
    now,
  });
  const server = await listen(gw.app);
  return {
    gw,
    config,
    url: origin(server),
    logs,
    async close() {
      await gw.stop();
      await close(server);
    },
  };
}

export interface PostOptions {
  /** Signature override (forged), or null for none. */
  signature?: string | null;
  /** Sign over this URL instead of PUBLIC_URL + path. */
  signUrl?: string;
  idempotencyToken?: string;
  rawBody?: string | ReadableStream;
  contentType?: string;
  headers?: Record<string, string>;
}

/** POST a form like Twilio does: signed over PUBLIC_URL + path (with query). */
export async function twilioPost(
  base: string,
  pathAndQuery: string,
  params: Record<string, string>,
  o: PostOptions = {},
): Promise<{ status: number; type: string; body: string }> {
  const signature =
    o.signature === undefined
      ? twilioSignature(AUTH_TOKEN, o.signUrl ?? PUBLIC_URL + pathAndQuery, params)
      : o.signature;
  const headers: Record<string, string> = {
    "content-type": o.contentType ?? "application/x-www-form-urlencoded",
    ...o.headers,
  };
  if (signature !== null) headers["x-twilio-signature"] = signature;
  if (o.idempotencyToken) headers["i-twilio-idempotency-token"] = o.idempotencyToken;
  const body = o.rawBody ?? new URLSearchParams(params).toString();
  const res = await fetch(base + pathAndQuery, {
    method: "POST",
    headers,
    body,
    ...(typeof body === "string" ? {} : { duplex: "half" }),
  } as RequestInit);
  return { status: res.status, type: res.headers.get("content-type") ?? "", body: await res.text() };
}

export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token = API_TOKEN,
): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, json };
}

export const tokensIn = (twiml: string): string[] =>
  [...twiml.matchAll(/name="token" value="([^"]+)"/g)].map((m) => m[1]!);
export const evtTypes = (h: Harness, callId: string) =>
  h.messages
    .filter((m) => m.subject === subjects.evt(callId))
    .map((m) => (m.data.type === "call.state" ? `state:${m.data.state}` : String(m.data.type)));
