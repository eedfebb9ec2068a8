import { readFileSync } from "node:fs";
import type { ChainableCommander, Redis } from "ioredis";
import { DeadLetter, DeliveryState, OutboxEntry, keys, type WebhookEventType } from "@voicecall/contracts";

const lua = (name: string) => readFileSync(new URL(`./${name}.lua`, import.meta.url), "utf8");
const CLAIM = lua("events-claim");
const RELEASE = lua("events-release");
const SKIP = lua("events-skip");
const DEAD_MAX = "10000";

/**
 * Queue one event on a MULTI, beside the write it reports (so the event exists iff the change does).
 * The call joins the due set now unless it is already there (claimed or backing off).
 */
export function queueEvent(
  m: ChainableCommander,
  callId: string,
  type: WebhookEventType,
  ts: number,
  data: unknown,
  retentionMs: number,
): ChainableCommander {
  m.xadd(keys.events(callId), "*", "type", type, "ts", String(ts), "data", JSON.stringify(data ?? {}));
  if (retentionMs > 0) m.pexpire(keys.events(callId), retentionMs);
  return m.zadd(keys.eventsDue, "NX", ts, callId);
}

export interface OutboxItem {
  /** Redis stream id: orders the call's events; `callId:id` is the event id receivers see. */
  id: string;
  entry: OutboxEntry;
}

/**
 * The durable event outbox: per-call streams of events, a due set of calls with undelivered events,
 * per-call delivery cursors, and a dead-letter stream. Redis runs with AOF, so a restart of any
 * service (or of Redis) loses no event.
 */
export class EventOutbox {
  constructor(
    readonly redis: Redis,
    private readonly retentionMs: number,
  ) {}

  /** Append one event to a call's outbox (events not tied to another write: dtmf, tool calls). */
  async append(callId: string, type: WebhookEventType, data: unknown, ts = Date.now()): Promise<void> {
    await queueEvent(this.redis.multi(), callId, type, ts, data, this.retentionMs).exec();
  }

  /** Calls due for delivery at `now`, each claimed for `leaseMs`. */
  async claimDue(now: number, leaseMs: number, limit: number): Promise<string[]> {
    return (await this.redis.eval(CLAIM, 1, keys.eventsDue, String(now), String(leaseMs), String(limit))) as string[];
  }

  async state(callId: string): Promise<DeliveryState> {
    return DeliveryState.parse(await this.redis.hgetall(keys.delivery(callId)));
  }

  /** Events after `cursor`, oldest first. */
  async after(callId: string, cursor: string, count: number): Promise<OutboxItem[]> {
    const rows = await this.redis.xrange(keys.events(callId), `(${cursor}`, "+", "COUNT", count);
    return rows.map(([id, kv]) => ({ id, entry: OutboxEntry.parse(pairs(kv)) }));
  }

  /** The receiver took event `id` (or it was dead-lettered): move the cursor past it. */
  async advance(callId: string, id: string): Promise<void> {
    const k = keys.delivery(callId);
    const m = this.redis.multi().hset(k, "cursor", id, "attempts", "0").hdel(k, "firstFailureAt", "lastError");
    if (this.retentionMs > 0) m.pexpire(k, this.retentionMs);
    await m.exec();
  }

  /** The head event failed and will be retried at `retryAt` (epoch ms). */
  async failed(
    callId: string,
    s: { attempts: number; firstFailureAt: number; lastError: string },
    retryAt: number,
  ): Promise<void> {
    const k = keys.delivery(callId);
    const m = this.redis
      .multi()
      .hset(
        k,
        "attempts",
        String(s.attempts),
        "firstFailureAt",
        String(s.firstFailureAt),
        "lastError",
        s.lastError.slice(0, 500),
      );
    if (this.retentionMs > 0) m.pexpire(k, this.retentionMs);
    await m.zadd(keys.eventsDue, retryAt, callId).exec();
  }

  /** Keep a claimed call ours until `until` (epoch ms). */
  async extend(callId: string, until: number): Promise<void> {
    await this.redis.zadd(keys.eventsDue, "XX", until, callId);
  }

  /** Give a claimed call back: dropped from the due set if delivered up to date, else due at `nextAt`. */
  async release(callId: string, nextAt: number): Promise<boolean> {
    return (
      (await this.redis.eval(
        RELEASE,
        3,
        keys.eventsDue,
        keys.events(callId),
        keys.delivery(callId),
        callId,
        String(nextAt),
      )) === 1
    );
  }

  /**
   * A claimed call whose events nobody receives: its cursor moves past the last one and the call leaves
   * the due set (what advancing through every page and releasing does, in one round trip instead of five).
   */
  async skipAll(callId: string): Promise<void> {
    await this.redis.eval(
      SKIP,
      3,
      keys.eventsDue,
      keys.events(callId),
      keys.delivery(callId),
      callId,
      String(this.retentionMs),
    );
  }

  /** Calls with events not yet delivered. */
  async dueCalls(): Promise<{ callId: string; dueAt: number }[]> {
    const flat = await this.redis.zrange(keys.eventsDue, "0", "-1", "WITHSCORES");
    const out: { callId: string; dueAt: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ callId: flat[i]!, dueAt: Number(flat[i + 1]) });
    return out;
  }

  async deadLetter(d: DeadLetter): Promise<string> {
    const v = DeadLetter.parse(d);
    const flat = Object.entries(v).flatMap(([k, x]) => [k, String(x)]);
    return (await this.redis.xadd(keys.eventsDead, "MAXLEN", "~", DEAD_MAX, "*", ...flat))!;
  }

  /** Dead letters, oldest first. */
  async deadLetters(count = 1000): Promise<{ id: string; dead: DeadLetter }[]> {
    const rows = await this.redis.xrange(keys.eventsDead, "-", "+", "COUNT", count);
    return rows.map(([id, kv]) => ({ id, dead: DeadLetter.parse(pairs(kv)) }));
  }

  async getDead(id: string): Promise<DeadLetter | null> {
    const rows = await this.redis.xrange(keys.eventsDead, id, id);
    return rows[0] ? DeadLetter.parse(pairs(rows[0][1])) : null;
  }

  async removeDead(id: string): Promise<boolean> {
    return (await this.redis.xdel(keys.eventsDead, id)) === 1;
  }
}

function pairs(kv: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < kv.length; i += 2) o[kv[i]!] = kv[i + 1]!;
  return o;
}
