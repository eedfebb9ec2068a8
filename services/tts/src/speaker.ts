import type { Subscription } from "nats";
import type { z } from "zod";
import type { Bus } from "@voicecall/bus";
import {
  CallEvent,
  LifecycleEvent,
  PrerenderRequest,
  SayMessage,
  audioHeaderRecord,
  queues,
  subjects,
} from "@voicecall/contracts";
import { callLogger, type Logger } from "@voicecall/log";
import { every } from "@voicecall/runtime";
import type { CallStore } from "@voicecall/store";
import type { PhraseCache } from "./cache";
import { Prefetch } from "./prefetch";
import type { TtsFailure } from "./providers";

type Say = Extract<SayMessage, { type: "say" }>;

export interface SpeakerOptions {
  /** Largest audio payload per bus message; default 1600 bytes (200 ms). */
  chunkBytes?: number;
  /** Utterances of a call rendering at once (the one streaming plus the next ones); default 2. */
  lookahead?: number;
  /** Sees every event the speaker publishes (metrics). */
  onEvent?: (e: z.input<typeof CallEvent>) => void;
  /** Own calls through a lease (any number of instances); without it, a queue group (one instance). */
  ownership?: SpeakerOwnership;
  /** Where a greeting pre-rendered while the phone rings is also stored under its call, for media to play on `start`. */
  greetings?: Pick<CallStore, "setPrerenderedGreeting">;
}

/** A queued utterance; its synthesis starts early (`pre`) when it is within the look-ahead. */
interface Item {
  say: Say;
  ctl: AbortController;
  pre?: Prefetch;
}

/** One call's utterances: spoken one at a time, in the order the says arrived. */
interface CallQueue {
  items: Item[];
  current?: Item;
  /** Says of a generation below this are dropped (the newest `say.cancel`). */
  minGeneration: number;
  running?: Promise<void>;
  /** Last say or cancel (ms), for pruning idle calls whose end we never heard. */
  touchedAt: number;
  /** UtteranceIds taken (queued, in flight or done), newest last, at most `SEEN_MAX`: a repeat is dropped. */
  seen: Set<string>;
  /** Until when (ms) this instance's `tts` lease on the call is known to hold. */
  ownedUntil?: number;
}

/**
 * With several tts instances, one instance speaks all of a call's sentences (a Redis lease, renewed
 * while it speaks): a queue group would spread one turn's sentences over instances, out of order, and
 * a re-sent `say` could be spoken twice.
 */
export interface SpeakerOwnership {
  store: CallStore;
  instance: string;
  /** Lease time; a dead owner's calls move after it. Default 4000 ms. */
  leaseMs?: number;
}

/** How many utteranceIds per call are remembered for dropping repeated says (the agent re-sends a lost one). */
const SEEN_MAX = 256;
/** A pre-rendered greeting waits this long for its stream; after that the agent says it the usual way. */
const PRERENDERED_GREETING_TTL_MS = 10 * 60_000;

/** Forget a call's cancel state after this long without says (a missed `call.ended`). */
const IDLE_FORGET_MS = 3600_000;

/**
 * Turns `say` messages into audio on `vc.call.<id>.audio`: per call serial, seq from 0, text on seq 0,
 * an empty `last` chunk closing each utterance that completed. `say.cancel` and `call.ended` abort the
 * synthesis in flight at once and drop what is queued; an aborted utterance gets no `last` chunk.
 *
 * Says come through the `tts` queue group; cancels and lifecycle reach every instance (no queue), so the
 * instance holding the utterance always hears its cancel.
 */
export class Speaker {
  private readonly calls = new Map<string, CallQueue>();
  /** Calls that ended: late says are dropped. callId → ended at (ms), pruned after an hour. */
  private readonly ended = new Map<string, number>();
  private readonly subs: Subscription[] = [];
  private readonly chunkBytes: number;

  constructor(
    private readonly bus: Bus,
    private readonly cache: PhraseCache,
    private readonly log: Logger,
    o: SpeakerOptions = {},
  ) {
    this.chunkBytes = o.chunkBytes ?? 1600;
    this.lookahead = Math.max(1, o.lookahead ?? 2);
    this.onEvent = o.onEvent;
    this.ownership = o.ownership && { leaseMs: 4000, ...o.ownership };
    this.greetings = o.greetings;
  }
  private readonly greetings?: Pick<CallStore, "setPrerenderedGreeting">;
  private readonly ownership?: Required<SpeakerOwnership>;
  private stopRenew?: () => void;
  private readonly onEvent?: (e: z.input<typeof CallEvent>) => void;
  private readonly lookahead: number;

  start(): void {
    this.subs.push(
      this.ownership
        ? this.bus.subscribe(subjects.allSay, SayMessage, async (m) => {
            if (m.type === "say" && (await this.owns(m.callId))) this.enqueue(m);
          })
        : this.bus.subscribe(subjects.allSay, SayMessage, (m) => (m.type === "say" ? this.enqueue(m) : undefined), {
            queue: queues.tts,
          }),
      this.bus.subscribe(subjects.allSay, SayMessage, (m) =>
        m.type === "say.cancel" ? this.cancel(m.callId, m.beforeGeneration) : undefined,
      ),
      this.bus.subscribe(subjects.lifecycle, LifecycleEvent, (e) =>
        e.type === "call.ended" ? this.end(e.callId) : undefined,
      ),
      this.bus.subscribe(subjects.prerender, PrerenderRequest, (m) => this.prerender(m), { queue: queues.tts }),
    );
    const o = this.ownership;
    if (o) this.stopRenew = every(Math.floor(o.leaseMs / 3), () => this.renew(), this.log);
  }

  /** True when this instance speaks for the call (takes the lease if it is free or ours). */
  private async owns(callId: string): Promise<boolean> {
    const o = this.ownership!;
    const q = this.calls.get(callId);
    const now = Date.now();
    if (q?.ownedUntil && q.ownedUntil - now > (o.leaseMs * 2) / 3) return true;
    if (!(await o.store.acquireLease("tts", callId, o.instance, o.leaseMs))) return false;
    this.queue(callId).ownedUntil = now + o.leaseMs;
    return true;
  }

  /** Keep the lease of every call still speaking (a long utterance outlives the lease time). */
  private async renew(): Promise<void> {
    const o = this.ownership!;
    for (const [callId, q] of this.calls) {
      if (!q.running || !q.ownedUntil) continue;
      if (await o.store.acquireLease("tts", callId, o.instance, o.leaseMs)) q.ownedUntil = Date.now() + o.leaseMs;
    }
  }

  /** Number of calls with audio queued or in flight (heartbeat load). */
  get load(): number {
    let n = 0;
    for (const q of this.calls.values()) if (q.running) n++;
    return n;
  }

  /** Stop taking work and wait for utterances in flight (the caller bounds this with its shutdown timeout). */
  async close(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
    this.stopRenew?.();
    await Promise.all([...this.calls.values()].map((q) => q.running));
    // Hand the calls back at once: a restarted or other instance takes the next say without waiting.
    const o = this.ownership;
    if (o)
      for (const [callId, q] of this.calls)
        if (q.ownedUntil) await o.store.releaseLease("tts", callId, o.instance).catch(() => undefined);
  }

  /** Abort everything (shutdown timeout, tests). */
  abortAll(): void {
    for (const id of [...this.calls.keys()]) this.cancel(id, Number.MAX_SAFE_INTEGER);
  }

  enqueue(say: Say): void {
    if (this.ended.has(say.callId)) return;
    const q = this.queue(say.callId);
    if (say.generation < q.minGeneration) {
      callLogger(this.log, say.callId).debug(
        { utteranceId: say.utteranceId, generation: say.generation },
        "say of a cancelled generation dropped",
      );
      return;
    }
    if (q.seen.has(say.utteranceId)) {
      callLogger(this.log, say.callId).debug({ utteranceId: say.utteranceId }, "repeated say dropped");
      return;
    }
    q.seen.add(say.utteranceId);
    if (q.seen.size > SEEN_MAX) q.seen.delete(q.seen.values().next().value!);
    q.items.push({ say, ctl: new AbortController() });
    this.prefetch(q);
    if (!q.running) q.running = this.drain(say.callId, q);
  }

  /** The call's queue; kept while the call lives so a cancel is remembered for says still on their way. */
  private queue(callId: string): CallQueue {
    const now = Date.now();
    let q = this.calls.get(callId);
    if (!q) {
      for (const [id, other] of this.calls)
        if (!other.running && now - other.touchedAt > IDLE_FORGET_MS) this.calls.delete(id);
      this.calls.set(callId, (q = { items: [], minGeneration: 0, touchedAt: now, seen: new Set() }));
    }
    q.touchedAt = now;
    return q;
  }

  cancel(callId: string, beforeGeneration: number): void {
    const q = this.queue(callId);
    q.minGeneration = Math.max(q.minGeneration, beforeGeneration);
    for (const it of q.items) if (it.say.generation < beforeGeneration) it.ctl.abort();
    q.items = q.items.filter((it) => it.say.generation >= beforeGeneration);
    if (q.current && q.current.say.generation < beforeGeneration) q.current.ctl.abort();
  }

  end(callId: string): void {
    const now = Date.now();
    this.ended.set(callId, now);
    for (const [id, at] of this.ended) if (now - at > IDLE_FORGET_MS) this.ended.delete(id);
    this.cancel(callId, Number.MAX_SAFE_INTEGER);
    const q = this.calls.get(callId);
    if (q && !q.running) this.calls.delete(callId);
  }

  private async drain(callId: string, q: CallQueue): Promise<void> {
    for (let item = q.items.shift(); item; item = q.items.shift()) {
      q.current = item;
      this.prefetch(q);
      try {
        await this.speak(item);
      } catch (err) {
        this.log.error({ callId, err }, "speak failed unexpectedly");
      }
      q.current = undefined;
    }
    q.running = undefined;
    if (this.ended.has(callId)) this.calls.delete(callId);
  }

  /** Start synthesis of the current utterance and the next ones up to the look-ahead. */
  private prefetch(q: CallQueue): void {
    const window = [...(q.current ? [q.current] : []), ...q.items].slice(0, this.lookahead);
    for (const it of window) {
      if (it.pre) continue;
      const { say, ctl } = it;
      const onFailure = (f: TtsFailure) => {
        callLogger(this.log, say.callId).warn(
          { utteranceId: say.utteranceId, provider: f.provider, fallback: f.fallback, err: f.message },
          "tts provider failed, falling back",
        );
        this.event({ type: "tts.error", callId: say.callId, ts: Date.now(), utteranceId: say.utteranceId, ...f });
      };
      it.pre = new Prefetch(() => this.cache.open(say.text, ctl.signal, onFailure));
    }
  }

  /** Latency is measured from when the utterance's turn to play came (not from when it was queued). */
  private async speak(item: Item): Promise<void> {
    const { say, ctl } = item;
    const signal = ctl.signal;
    const log = callLogger(this.log, say.callId).child({ utteranceId: say.utteranceId });
    const subject = subjects.audio(say.callId);
    const t0 = performance.now();
    const pre = item.pre!;
    let seq = 0;
    const send = (payload: Uint8Array, last: boolean) => {
      const h = audioHeaderRecord({
        callId: say.callId,
        utteranceId: say.utteranceId,
        seq,
        last,
        generation: say.generation,
        purpose: say.purpose,
        text: seq === 0 ? say.text : undefined,
      });
      this.bus.publishBinary(subject, payload, h);
      seq++;
    };
    let provider = "";
    try {
      for await (const chunk of pre) {
        if (signal.aborted) break;
        for (let off = 0; off < chunk.length; off += this.chunkBytes) {
          send(chunk.subarray(off, off + this.chunkBytes), false);
          if (seq === 1) {
            const src = await pre.opened;
            const latencyMs = Math.round((performance.now() - t0) * 10) / 10;
            provider = src.provider();
            this.event({
              type: "tts.first-chunk",
              callId: say.callId,
              ts: Date.now(),
              utteranceId: say.utteranceId,
              provider,
              latencyMs,
              cached: src.cached,
            });
            log.debug({ latencyMs, cached: src.cached, provider }, "first audio chunk sent");
          }
        }
      }
      if (signal.aborted) {
        log.info({ chunks: seq }, "utterance cancelled");
        return;
      }
      send(new Uint8Array(0), true);
      log.debug({ chunks: seq, provider }, "utterance sent");
    } catch (err) {
      if (signal.aborted) {
        log.info({ chunks: seq }, "utterance cancelled");
        return;
      }
      const message = (err as Error).message;
      log.error({ err: message }, "tts failed, utterance not spoken");
      this.event({
        type: "tts.error",
        callId: say.callId,
        ts: Date.now(),
        utteranceId: say.utteranceId,
        provider: provider || "tts",
        message,
      });
      // Close an utterance that was partly sent, so media does not wait for its end.
      if (seq > 0) send(new Uint8Array(0), true);
    }
  }

  private prerender(m: PrerenderRequest): Promise<void> {
    const log = callLogger(this.log, m.callId);
    const t0 = performance.now();
    return this.cache
      .prerender(m.text, (f) => {
        log.warn(
          { provider: f.provider, fallback: f.fallback, err: f.message },
          "tts provider failed during prerender",
        );
        this.event({ type: "tts.error", callId: m.callId, ts: Date.now(), utteranceId: "prerender", ...f });
      })
      .then(async (r) => {
        log.info({ ms: Math.round(performance.now() - t0), bytes: r?.audio.length ?? 0 }, "greeting prerendered");
        // Also under the call, so media can play it on `start` without a round trip through agent and tts.
        if (r?.audio.length && this.greetings)
          await this.greetings
            .setPrerenderedGreeting(m.callId, m.text, r.audio, PRERENDERED_GREETING_TTL_MS)
            .catch((err: Error) => log.warn({ err: err.message }, "prerendered greeting not stored for the call"));
      });
  }

  private event(e: z.input<typeof CallEvent>): void {
    this.bus.publish(subjects.evt(e.callId), CallEvent, e);
    this.onEvent?.(e);
  }
}
