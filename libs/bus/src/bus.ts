import { connect, headers as natsHeaders, type NatsConnection, type Msg, type Subscription } from "nats";
import type { z } from "zod";
import type { Logger } from "@voicecall/log";

export interface BusOptions {
  url: string;
  name: string;
  log: Logger;
  /** Keep trying to connect at start (NATS may come up after us). Default true. */
  waitOnFirstConnect?: boolean;
}

/** Thin typed wrapper over a NATS connection: JSON validated by zod, audio as binary + headers. */
export class Bus {
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();
  /** False while the connection is down and reconnecting (kept by `connectBus`). */
  connected = true;
  constructor(
    readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {}

  /** Publish a JSON message; validated against `schema` first so bad messages fail at the sender. */
  publish<S extends z.ZodTypeAny>(subject: string, schema: S, msg: z.input<S>): void {
    const data = schema.parse(msg);
    this.nc.publish(subject, this.enc.encode(JSON.stringify(data)));
  }

  /** Publish raw bytes with string headers (audio). */
  publishBinary(subject: string, payload: Uint8Array, hdrs: Record<string, string>): void {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(hdrs)) h.set(k, v);
    this.nc.publish(subject, payload, { headers: h });
  }

  /**
   * Subscribe and hand each valid message to `onMessage`. Invalid messages are logged and skipped,
   * never thrown: one bad publisher must not stop a consumer.
   */
  subscribe<S extends z.ZodTypeAny>(
    subject: string,
    schema: S,
    onMessage: (msg: z.infer<S>, raw: Msg) => void | Promise<void>,
    opts: { queue?: string } = {},
  ): Subscription {
    const sub = this.nc.subscribe(subject, opts.queue ? { queue: opts.queue } : {});
    void (async () => {
      for await (const m of sub) {
        const parsed = this.decode(m, schema);
        if (!parsed.ok) {
          this.log.warn({ subject: m.subject, err: parsed.error }, "invalid bus message skipped");
          continue;
        }
        try {
          await onMessage(parsed.value, m);
        } catch (err) {
          this.log.error({ subject: m.subject, err }, "bus handler failed");
        }
      }
    })();
    return sub;
  }

  /**
   * Subscribe to binary messages; `onMessage` gets payload and headers as a plain record. Synchronous, on the
   * client's callback (no async iterator, no promise per message): media's agent audio, 10 chunks at once
   * per utterance per stream, the same way the bare relay (bench/limit/relay.ts) takes them.
   */
  subscribeBinary(
    subject: string,
    onMessage: (payload: Uint8Array, hdrs: Record<string, string>, raw: Msg) => void,
    opts: { queue?: string } = {},
  ): Subscription {
    return this.nc.subscribe(subject, {
      ...(opts.queue ? { queue: opts.queue } : {}),
      callback: (err, m) => {
        if (err) return this.log.warn({ subject, err: err.message }, "bus binary subscription error");
        try {
          onMessage(m.data, headerRecord(m), m);
        } catch (err) {
          this.log.error({ subject: m.subject, err }, "bus binary handler failed");
        }
      },
    });
  }

  decode<S extends z.ZodTypeAny>(m: Msg, schema: S): { ok: true; value: z.infer<S> } | { ok: false; error: string } {
    try {
      const r = schema.safeParse(JSON.parse(this.dec.decode(m.data)));
      return r.success
        ? { ok: true, value: r.data }
        : { ok: false, error: r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") };
    } catch (err) {
      return { ok: false, error: `not JSON: ${(err as Error).message}` };
    }
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  /** Finish in-flight messages and close: call on SIGTERM. */
  async drain(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}

export function headerRecord(m: Msg): Record<string, string> {
  const out: Record<string, string> = {};
  if (!m.headers) return out;
  for (const [k, v] of m.headers) out[k] = v[0] ?? "";
  return out;
}

/** Connect with endless reconnects; at start, wait (with backoff, logged) until NATS answers. */
export async function connectBus(o: BusOptions): Promise<Bus> {
  const servers = o.url.split(",").map((u) => u.trim());
  let attempt = 0;
  for (;;) {
    try {
      const nc = await connect({
        servers,
        name: o.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        waitOnFirstConnect: false,
        pingInterval: 10_000,
      });
      o.log.info({ server: nc.getServer() }, "nats connected");
      const bus = new Bus(nc, o.log);
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === "disconnect" || s.type === "reconnect") {
            bus.connected = s.type === "reconnect";
            o.log.warn({ status: s.type }, "nats connection status");
          }
        }
      })();
      return bus;
    } catch (err) {
      if (o.waitOnFirstConnect === false) throw err;
      attempt++;
      const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
      o.log.warn({ attempt, delayMs: delay, err: (err as Error).message }, "nats not reachable yet, retrying");
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
