import { sendWebhook, type WebhookKind, type WebhookRecord } from "./webhooks";
import type { SimContext } from "./types";

/** A PRNG in [0, 1) (mulberry32): the simulator's random choices replay from `knobs.seed`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One webhook as Twilio delivers it: a request that gets no answer (timed out, refused, reset: 11205) is
 * sent again, up to `knobs.webhookRetries` times, with the same `I-Twilio-Idempotency-Token`. Every
 * attempt is reported to `record`; the last one is returned.
 */
export async function deliver(
  ctx: SimContext,
  kind: WebhookKind,
  method: "GET" | "POST",
  url: string,
  params: Record<string, string>,
  callSid: string | undefined,
  record: (r: WebhookRecord) => void,
): Promise<WebhookRecord> {
  let rec = await sendWebhook(ctx.webhook, kind, method, url, params, callSid);
  record(rec);
  while (rec.errorCode === 11205 && rec.attempt <= ctx.knobs.webhookRetries) {
    rec = await sendWebhook(ctx.webhook, kind, method, url, params, callSid, {
      idempotencyToken: rec.idempotencyToken,
      attempt: rec.attempt + 1,
    });
    record(rec);
  }
  return rec;
}

/**
 * A call's status callbacks. `orderly`: one at a time, in order. `unordered` (the default): each is sent
 * on its own after a random delay, so a later event can arrive first, and some are delivered a second
 * time, as a redelivery (same token and signature) would be.
 */
export class StatusCallbacks {
  private chain = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly ctx: SimContext,
    /** Send one callback; `again` makes it a redelivery of an earlier attempt. */
    private readonly send: (params: Record<string, string>, again?: WebhookRecord) => Promise<WebhookRecord>,
  ) {}

  queue(params: Record<string, string>): void {
    const k = this.ctx.knobs;
    if (k.statusCallbacks === "orderly") {
      this.chain = this.chain.then(() => this.send(params).then(() => undefined));
      this.track(this.chain);
      return;
    }
    const delay = () => Math.floor(this.ctx.random() * k.statusCallbackJitterMs);
    const twice = this.ctx.random() < k.statusCallbackDuplicateRate;
    const first = wait(delay()).then(() => this.send(params));
    this.track(first);
    if (twice) this.track(first.then((rec) => wait(delay()).then(() => this.send(params, rec))));
  }

  /** Resolves once every callback queued so far (and any queued meanwhile) has been answered. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>): void {
    const q = p.finally(() => this.pending.delete(q));
    this.pending.add(q);
  }
}

const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
