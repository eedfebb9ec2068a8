import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import {
  CallRecord,
  callRecordFromHash,
  Heartbeat,
  PrerenderedGreeting,
  TimelineEntry,
  TranscriptEntry,
  TurnMetric,
  keys,
  type CallState,
  type LeaseKind,
  type WebhookEventType,
} from "@voicecall/contracts";
import { EventOutbox, queueEvent } from "./event-outbox";
import type { DurableWrites } from "./redis";
import { admitStream, type StreamAdmission, type StreamAdmissionRequest } from "./stream-admission";

const lua = (name: string) => readFileSync(new URL(`./${name}.lua`, import.meta.url), "utf8");
const TRANSITION = lua("transition");
const LEASE = lua("lease");
const RELEASE = lua("release");

export type TransitionResult = { result: "applied" | "same" | "refused" | "missing" | "invalid"; prev?: CallState };

export interface StoreOptions {
  /** How long an ended call (hash, timeline, transcript) is kept. Default 7 days. */
  retentionMs?: number;
  /**
   * With replicas (Sentinel): after the writes a failover must not lose (a new call record, a state
   * change and its timeline entry, a transcript line, a linked CallSid, a field update) wait until
   * that many replicas have them. Undefined = no wait (one Redis, or replication lag accepted).
   */
  durable?: DurableWrites;
}

/** After a WAIT timed out (replica down or lagging), writes stop waiting for this long: one slow WAIT per window, not one per write. */
const SHORTFALL_BACKOFF_MS = 5000;

type NewCall = Omit<
  CallRecord,
  "createdAt" | "updatedAt" | "greetingPlayed" | "streamCount" | "state" | "channel" | "engine"
> & {
  state?: CallState;
  channel?: CallRecord["channel"];
  engine?: CallRecord["engine"];
};

/** Non-state fields of a call record (state only moves through `transition`). */
export type RecordFields = Partial<Omit<CallRecord, "state" | "callId">>;

/** The only module that touches Redis keys. Every key has a TTL or is removed when the call ends. */
export class CallStore {
  private readonly retentionMs: number;
  /** The calls' event outbox (webhook events): appended here beside the writes they report. */
  readonly events: EventOutbox;
  private readonly durable?: DurableWrites;
  private waitSkippedUntil = 0;
  constructor(
    readonly redis: Redis,
    opts: StoreOptions = {},
  ) {
    this.retentionMs = opts.retentionMs ?? 7 * 24 * 3600_000;
    this.events = new EventOutbox(redis, this.retentionMs);
    this.durable = opts.durable;
  }

  /**
   * WAIT until the configured replicas have every write this connection made so far. WAIT blocks
   * the connection (later commands queue behind it), so after a shortfall it is skipped for a while:
   * with the replica gone, writes live on the primary alone, as they would without a replica.
   */
  private async replicated(): Promise<void> {
    const d = this.durable;
    if (!d || Date.now() < this.waitSkippedUntil) return;
    const acked = await this.redis.wait(d.replicas, d.timeoutMs);
    if (acked < d.replicas) {
      this.waitSkippedUntil = Date.now() + SHORTFALL_BACKOFF_MS;
      d.onShortfall?.(acked, d.replicas);
    }
  }

  async createCall(c: NewCall, now = Date.now()): Promise<CallRecord> {
    const rec = CallRecord.parse({
      ...c,
      state: c.state ?? "queued",
      createdAt: now,
      updatedAt: now,
      greetingPlayed: false,
      streamCount: 0,
    });
    const fields = toHash(rec);
    const entry: TimelineEntry = { ts: now, state: rec.state, source: "create" };
    const m = this.redis
      .multi()
      .hset(keys.call(rec.callId), fields)
      .rpush(keys.timeline(rec.callId), JSON.stringify(entry));
    if (rec.callSid) m.set(keys.callSid(rec.callSid), rec.callId, "PX", this.retentionMs);
    m.zadd(keys.active, now, rec.callId);
    queueEvent(
      m,
      rec.callId,
      "call.created",
      now,
      { direction: rec.direction, mode: rec.mode, from: rec.from, to: rec.to, state: rec.state },
      this.retentionMs,
    );
    await m.exec();
    await this.replicated();
    return rec;
  }

  async getCall(callId: string): Promise<CallRecord | null> {
    const h = await this.redis.hgetall(keys.call(callId));
    if (!h.callId) return null;
    return callRecordFromHash(h);
  }

  async callIdBySid(callSid: string): Promise<string | null> {
    return this.redis.get(keys.callSid(callSid));
  }

  async linkCallSid(callId: string, callSid: string): Promise<void> {
    await this.redis
      .multi()
      .hset(keys.call(callId), "callSid", callSid)
      .set(keys.callSid(callSid), callId, "PX", this.retentionMs)
      .exec();
    await this.replicated();
  }

  /** Set non-state fields (state only moves through `transition`). */
  async update(callId: string, fields: RecordFields): Promise<void> {
    const h = toHash(fields);
    if (Object.keys(h).length === 0) return;
    await this.redis.hset(keys.call(callId), { ...h, updatedAt: String(Date.now()) });
    await this.replicated();
  }

  async incrStreamCount(callId: string): Promise<number> {
    return this.redis.hincrby(keys.call(callId), "streamCount", 1);
  }

  /**
   * Next turn generation of a call (1, 2, …), shared by every agent instance that owns the call in turn,
   * so a new owner never reuses a generation media has already fenced off.
   */
  async nextGeneration(callId: string): Promise<number> {
    return this.redis.hincrby(keys.call(callId), "generation", 1);
  }

  /** Count a false interruption (barge-in resumed) on the call record. */
  async incrFalseInterruptions(callId: string): Promise<number> {
    return this.redis.hincrby(keys.call(callId), "falseInterruptions", 1);
  }

  /** Move the call to `state` atomically; refuses backwards moves and leaving a terminal state. */
  async transition(
    callId: string,
    state: CallState,
    source: string,
    reason = "",
    now = Date.now(),
  ): Promise<TransitionResult> {
    const [result, prev] = (await this.redis.eval(
      TRANSITION,
      6,
      keys.call(callId),
      keys.timeline(callId),
      keys.active,
      keys.transcript(callId),
      keys.events(callId),
      keys.eventsDue,
      state,
      String(now),
      source,
      reason,
      String(this.retentionMs),
      callId,
    )) as [TransitionResult["result"], string];
    if (result === "applied") await this.replicated();
    return { result, prev: prev ? (prev as CallState) : undefined };
  }

  /**
   * Count one stream reconnect of a call; the count is of the window that began with the first one
   * (the key expires with the window, and at the latest with the call's retention).
   */
  async countReconnect(callId: string, windowMs: number): Promise<number> {
    const [[, n]] = (await this.redis
      .multi()
      .incr(keys.reconnects(callId))
      .pexpire(keys.reconnects(callId), windowMs, "NX")
      .exec()) as [[null, number]];
    return n;
  }

  /** Add a timeline entry that is not a state change (e.g. a stream error); the state is the current one. */
  async note(callId: string, e: TimelineEntry): Promise<void> {
    await this.redis.rpush(keys.timeline(callId), JSON.stringify(TimelineEntry.parse(e)));
  }

  async timeline(callId: string): Promise<TimelineEntry[]> {
    const rows = await this.redis.lrange(keys.timeline(callId), 0, -1);
    return rows.map((r) => TimelineEntry.parse(JSON.parse(r)));
  }

  /**
   * Append a transcript line; `fields` are set on the call record in the same transaction (the agent
   * marks the caller's final handled with its line: one round trip per turn instead of two).
   */
  async appendTranscript(callId: string, e: TranscriptEntry, fields?: RecordFields): Promise<string> {
    const t = TranscriptEntry.parse(e);
    const flat: string[] = [];
    for (const [k, v] of Object.entries(t)) if (v !== undefined) flat.push(k, String(v));
    const m = this.redis.multi().xadd(keys.transcript(callId), "*", ...flat);
    const h = fields ? toHash(fields) : {};
    if (Object.keys(h).length > 0) m.hset(keys.call(callId), { ...h, updatedAt: String(Date.now()) });
    const [[err, id]] = (await queueEvent(m, callId, "transcript", t.ts, t, this.retentionMs).exec()) as [
      [Error | null, string],
    ];
    if (err) throw err;
    await this.replicated();
    return id;
  }

  /** Record an event that is not part of another write (dtmf, tool calls) in the call's outbox. */
  async appendEvent(callId: string, type: WebhookEventType, data: unknown, ts = Date.now()): Promise<void> {
    await this.events.append(callId, type, data, ts);
  }

  async transcript(callId: string): Promise<TranscriptEntry[]> {
    const rows = await this.redis.xrange(keys.transcript(callId), "-", "+");
    return rows.map(([, kv]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i < kv.length; i += 2) o[kv[i]!] = kv[i + 1]!;
      return TranscriptEntry.parse(o);
    });
  }

  async activeCallIds(): Promise<string[]> {
    return this.redis.zrange(keys.active, "0", "-1");
  }

  /**
   * Ids of kept calls (active or ended, within retention) that start with `prefix` — the short ids
   * `voicecall tail` prints — at most `limit`. SCAN, so it is for people, not for hot paths.
   */
  async callIdsByPrefix(prefix: string, limit = 10): Promise<string[]> {
    if (!/^[A-Za-z0-9_-]+$/.test(prefix)) return [];
    const base = keys.call("");
    const found = new Set<string>();
    let cursor = "0";
    do {
      const [next, batch] = await this.redis.scan(cursor, "MATCH", `${keys.call(prefix)}*`, "COUNT", 1000);
      cursor = next;
      for (const k of batch) {
        const id = k.slice(base.length);
        if (!id.includes(":")) found.add(id);
      }
    } while (cursor !== "0" && found.size < limit);
    return [...found].slice(0, limit);
  }

  /** True the first time `key` is seen within `ttlMs` (webhook de-duplication, single-use tokens). */
  async firstSeen(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(keys.seen(key), "1", "PX", ttlMs, "NX")) === "OK";
  }

  /**
   * `firstSeen` for several keys in one round trip (each is recorded either way): true when none was
   * seen. A status callback checks two (content hash, idempotency token); one pipeline is one socket
   * write and read instead of two.
   */
  async firstSeenAll(keyList: string[], ttlMs: number): Promise<boolean> {
    const p = this.redis.pipeline();
    for (const k of keyList) p.set(keys.seen(k), "1", "PX", ttlMs, "NX");
    const res = (await p.exec()) ?? [];
    let first = true;
    for (const [err, ok] of res) {
      if (err) throw err;
      if (ok !== "OK") first = false;
    }
    return first;
  }

  /** Forget a `firstSeen` key (the work it guarded failed and may be retried). */
  async forgetSeen(key: string): Promise<void> {
    await this.redis.del(keys.seen(key));
  }

  /** Take or renew a lease; `stealFrom` lets a new owner replace a known dead one. */
  async acquireLease(kind: LeaseKind, callId: string, owner: string, ttlMs: number, stealFrom = ""): Promise<boolean> {
    return (await this.redis.eval(LEASE, 1, keys.lease(kind, callId), owner, String(ttlMs), stealFrom)) === 1;
  }

  async releaseLease(kind: LeaseKind, callId: string, owner: string): Promise<boolean> {
    return (await this.redis.eval(RELEASE, 1, keys.lease(kind, callId), owner)) === 1;
  }

  /** Admit a Media Stream in one round trip (`stream-admission.ts`); the record write is durable like `update`. */
  async admitStream(r: StreamAdmissionRequest): Promise<StreamAdmission> {
    const a = await admitStream(this.redis, r);
    if (a.ok) await this.replicated();
    return a;
  }

  async leaseOwner(kind: LeaseKind, callId: string): Promise<string | null> {
    return this.redis.get(keys.lease(kind, callId));
  }

  async ttsGet(hash: string): Promise<Buffer | null> {
    return this.redis.getBuffer(keys.tts(hash));
  }

  /** The greeting tts rendered for this call while it rang (PrerenderedGreeting + audio), kept `ttlMs`. */
  async setPrerenderedGreeting(callId: string, text: string, audio: Uint8Array, ttlMs: number): Promise<void> {
    const rec = PrerenderedGreeting.parse({ text, bytes: audio.length, ts: Date.now() });
    await this.redis
      .multi()
      .set(keys.greeting(callId), JSON.stringify(rec), "PX", ttlMs)
      .set(keys.greetingAudio(callId), Buffer.from(audio), "PX", ttlMs)
      .exec();
  }

  /** Both in one round trip: media reads it on the way to the caller's first greeting frame. */
  async prerenderedGreeting(callId: string): Promise<(PrerenderedGreeting & { audio: Buffer }) | null> {
    const res = await this.redis.pipeline().get(keys.greeting(callId)).getBuffer(keys.greetingAudio(callId)).exec();
    const raw = res?.[0]?.[1] as string | null | undefined;
    const audio = res?.[1]?.[1] as Buffer | null | undefined;
    if (!raw || !audio) return null;
    const rec = PrerenderedGreeting.safeParse(JSON.parse(raw));
    return rec.success && rec.data.bytes === audio.length ? { ...rec.data, audio } : null;
  }

  async ttsSet(hash: string, audio: Uint8Array, ttlMs: number): Promise<void> {
    await this.redis.set(keys.tts(hash), Buffer.from(audio), "PX", ttlMs);
  }

  async heartbeat(hb: Heartbeat, ttlMs: number): Promise<void> {
    await this.redis.set(keys.heartbeat(hb.service, hb.instance), JSON.stringify(Heartbeat.parse(hb)), "PX", ttlMs);
  }

  async heartbeats(): Promise<Heartbeat[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.redis.scan(cursor, "MATCH", keys.heartbeats, "COUNT", 200);
      cursor = next;
      found.push(...batch);
    } while (cursor !== "0");
    if (found.length === 0) return [];
    const vals = await this.redis.mget(...found);
    return vals.filter((v): v is string => v !== null).map((v) => Heartbeat.parse(JSON.parse(v)));
  }

  /** The first TwiML answered for a CallSid; `setIfAbsent` returns the winner's TwiML. */
  async webhookAnswer(callSid: string, twiml: string, ttlMs: number): Promise<string> {
    const k = keys.webhookAnswer(callSid);
    const ok = await this.redis.set(k, twiml, "PX", ttlMs, "NX");
    if (ok === "OK") return twiml;
    return (await this.redis.get(k)) ?? twiml;
  }

  async recordTurn(t: TurnMetric): Promise<void> {
    const v = TurnMetric.parse(t);
    const m = this.redis
      .multi()
      .xadd(
        keys.turns,
        "MAXLEN",
        "~",
        "100000",
        "*",
        "callId",
        v.callId,
        "kind",
        v.kind,
        "latencyMs",
        String(v.latencyMs),
        "ts",
        String(v.ts),
      );
    m.rpush(keys.callTurns(v.callId), JSON.stringify(v));
    if (this.retentionMs > 0) m.pexpire(keys.callTurns(v.callId), this.retentionMs);
    await m.exec();
  }

  /** One call's measured turns, oldest first (for its end-of-call report). */
  async callTurns(callId: string): Promise<TurnMetric[]> {
    return (await this.redis.lrange(keys.callTurns(callId), 0, -1)).map((r) => TurnMetric.parse(JSON.parse(r)));
  }

  /** Turns recorded at or after `sinceMs` (epoch ms). */
  async turns(sinceMs: number): Promise<TurnMetric[]> {
    const rows = await this.redis.xrange(keys.turns, String(Math.max(0, Math.floor(sinceMs))), "+");
    return rows.map(([, kv]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i < kv.length; i += 2) o[kv[i]!] = kv[i + 1]!;
      return TurnMetric.parse(o);
    });
  }

  async cachedWebhookAnswer(callSid: string): Promise<string | null> {
    return this.redis.get(keys.webhookAnswer(callSid));
  }

  async clearWebhookAnswer(callSid: string): Promise<void> {
    await this.redis.del(keys.webhookAnswer(callSid));
  }
}

function toHash(o: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k] = typeof v === "boolean" ? (v ? "1" : "0") : String(v);
  }
  return out;
}
