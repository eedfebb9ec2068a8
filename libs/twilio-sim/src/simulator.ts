import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import express from "express";
import { SimCall, type CallParams } from "./call";
import { Phone } from "./phone";
import { createRestApp, type CallRegistry, type CreateCallRequest } from "./rest-server";
import { recordRestRequests, type RestRequest } from "./rest-log";
import { newSid } from "./sids";
import { defaultKnobs, type DialOutcome, type SimContext, type SimKnobs } from "./types";
import type { WebhookRecord } from "./webhooks";
import type { NetworkConditions } from "./network";
import { seededRandom } from "./delivery";

/** A phone number's configuration (what the Twilio console would hold). */
export interface NumberConfig {
  voiceUrl: string;
  voiceMethod?: "GET" | "POST";
  statusCallback?: string;
  statusCallbackMethod?: "GET" | "POST";
  statusCallbackEvents?: string[];
}

export interface SimulatorOptions {
  /** Default: a random `AC…`. */
  accountSid?: string;
  /** Default: random hex. */
  authToken?: string;
  /** REST port on `host`. Default 0 (any free port). */
  port?: number;
  host?: string;
  /** Extra CA (PEM) for https webhooks and wss streams, e.g. Caddy's local root (`caddy.ca`). */
  ca?: string | Buffer;
  /** Send requests for a public URL elsewhere (signing and Host still use the public URL). */
  route?: (url: URL) => URL;
  /** Numbers the simulator owns: `+15550001111 → voice URL` (or full config). */
  numbers?: Record<string, string | NumberConfig>;
  knobs?: Partial<SimKnobs>;
  /** What the far end does on outbound calls unless `queueOutcome` says otherwise. */
  defaultOutcome?: DialOutcome;
  /** Per-call choice (e.g. by `To`), consulted after `queueOutcome` and before `defaultOutcome`. */
  dialPolicy?: (req: CreateCallRequest) => DialOutcome | undefined;
  /** Called after every webhook the simulator sends (for logs / `voicecall simulate`). */
  onRequest?: (r: WebhookRecord) => void;
}

export interface IncomingCall {
  from: string;
  to: string;
  /** Voice URL; default: the number's configured URL. */
  url?: string;
  method?: "GET" | "POST";
  statusCallback?: string;
  statusCallbackEvents?: string[];
  /** The network between the app and this call's Media Streams (e.g. `roundTrip(300, 30)`). Default none. */
  network?: NetworkConditions;
}

export interface Simulator {
  /** REST base, e.g. `http://127.0.0.1:40123` (the gateway's TWILIO_API_BASE_URL). */
  origin: string;
  accountSid: string;
  authToken: string;
  /** Mutable at run time. */
  knobs: SimKnobs;
  /** Every webhook sent to the app, in order, with the app's answer. */
  requests: WebhookRecord[];
  /** Every REST request the app sent, in order (refused ones too). A test may empty it. */
  restRequests: RestRequest[];
  /** A call comes in to `to` (one of our numbers, or any number with `url`). */
  incoming(c: IncomingCall): Promise<Phone>;
  /** The next call not yet handed out (outbound calls created over REST, in creation order). */
  nextCall(timeoutMs?: number): Promise<Phone>;
  call(sid: string): Phone | undefined;
  calls(): Phone[];
  /** The far end of the next outbound call does this (FIFO; then `defaultOutcome`). */
  queueOutcome(o: DialOutcome): void;
  setNumber(number: string, config: string | NumberConfig): void;
  /** Hang up every live call and close the REST server. */
  stop(): Promise<void>;
}

const method = (m?: string): "GET" | "POST" => (m?.toUpperCase() === "GET" ? "GET" : "POST");

/** Start a Twilio simulator: REST API on a loopback port, calls driven against the app's URLs. */
export async function startSimulator(o: SimulatorOptions = {}): Promise<Simulator> {
  const accountSid = o.accountSid ?? newSid("AC");
  const authToken = o.authToken ?? randomBytes(16).toString("hex");
  const knobs: SimKnobs = { ...defaultKnobs, ...o.knobs };
  const requests: WebhookRecord[] = [];
  const ctx: SimContext = {
    accountSid,
    authToken,
    knobs,
    requests,
    ca: o.ca,
    route: o.route,
    onRequest: o.onRequest,
    random: seededRandom(knobs.seed),
    get webhook() {
      return {
        authToken,
        ca: o.ca,
        route: o.route,
        timeoutMs: knobs.webhookTimeoutMs,
        dropHttpsPort: knobs.dropHttpsPortWhenSigning,
      };
    },
  };
  const numbers = new Map<string, NumberConfig>();
  const setNumber = (n: string, c: string | NumberConfig) =>
    numbers.set(n, typeof c === "string" ? { voiceUrl: c } : c);
  for (const [n, c] of Object.entries(o.numbers ?? {})) setNumber(n, c);
  const phones = new Map<string, Phone>();
  const handed = new Set<string>();
  const outcomes: DialOutcome[] = [];

  const add = (p: CallParams): Phone => {
    const call = new SimCall(p, ctx);
    const phone = new Phone(call);
    phones.set(p.sid, phone);
    void call.start().catch((err) => call.warn(0, `simulator error: ${(err as Error).message}`));
    return phone;
  };

  const registry: CallRegistry = {
    accountSid,
    authToken,
    create(r: CreateCallRequest) {
      const phone = add({
        sid: newSid("CA"),
        direction: "outbound-api",
        from: r.From,
        to: r.To,
        url: r.Url,
        method: method(r.Method),
        twiml: r.Url ? undefined : r.Twiml, // "If both are provided, twiml is ignored"
        fallbackUrl: r.FallbackUrl,
        fallbackMethod: method(r.FallbackMethod),
        statusCallback: r.StatusCallback,
        statusCallbackMethod: method(r.StatusCallbackMethod),
        statusCallbackEvents: r.StatusCallbackEvent,
        machineDetection:
          r.MachineDetection === "Enable" || r.MachineDetection === "DetectMessageEnd" ? r.MachineDetection : undefined,
        asyncAmd: r.AsyncAmd === "true",
        asyncAmdStatusCallback: r.AsyncAmdStatusCallback,
        asyncAmdStatusCallbackMethod: method(r.AsyncAmdStatusCallbackMethod),
        machineDetectionTimeoutSec: Number(r.MachineDetectionTimeout ?? 30) || 30,
        timeoutSec: Number(r.Timeout ?? 60) || 60,
        timeLimitSec: Number(r.TimeLimit ?? 14400) || 14400,
        outcome: outcomes.shift() ?? o.dialPolicy?.(r) ?? o.defaultOutcome ?? {},
      });
      return phone.call;
    },
    get: (sid) => phones.get(sid)?.call,
    numbers: () =>
      [...numbers].map(([phoneNumber, c]) => ({
        phoneNumber,
        voiceUrl: c.voiceUrl,
        voiceMethod: c.voiceMethod ?? "POST",
        statusCallback: c.statusCallback ?? "",
        statusCallbackMethod: c.statusCallbackMethod ?? "POST",
      })),
    all: () => [...phones.values()].map((p) => p.call),
    knobs: () => knobs,
  };

  const restRequests: RestRequest[] = [];
  const app = express().use(recordRestRequests(restRequests), createRestApp(registry));
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  const addr = server.address() as AddressInfo;
  const origin = `http://${o.host ?? "127.0.0.1"}:${addr.port}`;

  return {
    origin,
    accountSid,
    authToken,
    knobs,
    requests,
    restRequests,
    async incoming(c) {
      const n = numbers.get(c.to);
      const url = c.url ?? n?.voiceUrl;
      if (!url) throw new Error(`no voice URL for ${c.to}: pass url or configure the number`);
      const phone = add({
        sid: newSid("CA"),
        direction: "inbound",
        from: c.from,
        to: c.to,
        url,
        method: c.method ?? n?.voiceMethod ?? "POST",
        fallbackMethod: "POST",
        statusCallback: c.statusCallback ?? n?.statusCallback,
        statusCallbackMethod: n?.statusCallbackMethod ?? "POST",
        statusCallbackEvents: c.statusCallbackEvents ?? n?.statusCallbackEvents ?? [],
        asyncAmd: false,
        asyncAmdStatusCallbackMethod: "POST",
        timeoutSec: 60,
        timeLimitSec: 14400,
        outcome: { network: c.network },
      });
      handed.add(phone.sid);
      return phone;
    },
    async nextCall(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const p = [...phones.values()].find((x) => !handed.has(x.sid));
        if (p) {
          handed.add(p.sid);
          return p;
        }
        if (Date.now() > deadline) throw new Error(`no new call within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    call: (sid) => phones.get(sid),
    calls: () => [...phones.values()],
    queueOutcome: (oc) => void outcomes.push(oc),
    setNumber,
    async stop() {
      await Promise.all(
        [...phones.values()].map((p) =>
          p.call.end(p.status === "in-progress" ? "completed" : "canceled", "simulator-stop"),
        ),
      );
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
