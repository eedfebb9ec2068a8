/**
 * The greeting hop by hop (issue #20 item 4): the bench watches the bus and stamps when the agent's `say`
 * and tts's first audio chunk of each call pass; with the driver's stream start, media's `stream.started`,
 * media's own "first frame sent" record and the caller's first heard frame, the greeting splits into
 * media checks → agent (+2 NATS hops) → tts cache (+1 NATS hop) → media playout → wire (Caddy, network, driver).
 * The bench's own NATS delivery sits in the middle hops; it is one loopback hop, the same on every run.
 */
import type { NatsConnection, Subscription } from "nats";
import type { CallResult } from "./calls";
import { dist, type Dist } from "./stats";

export interface Hops {
  mediaChecksMs: Dist;
  agentMs: Dist;
  ttsMs: Dist;
  playoutMs: Dist;
  wireMs: Dist;
  /** Greetings media played from the pre-render (stream.started named them): no agent or tts hop. */
  preRendered: number;
  greetings: number;
  /** The reply the same way: media's final → the agent's say → tts's first chunk → media's first frame sent. */
  reply: { agentMs: Dist; ttsMs: Dist; playoutMs: Dist };
}

/** Stamps kept per call and subject (one per utterance): the greeting and every turn of a bench call. */
const PER_CALL = 64;

/** A reply as media recorded it (store turn record): its final and its first frame sent, epoch ms. */
export interface ReplySent {
  callId: string;
  finalAt: number;
  sentAt: number;
}

export async function hopWatch(nc: NatsConnection): Promise<{
  reset(): void;
  split(results: CallResult[], sentAt: Map<string, number>, replies?: ReplySent[]): Hops;
  stop(): void;
}> {
  let say = new Map<string, number[]>();
  let audio = new Map<string, number[]>();
  let pre = new Set<string>();
  const note =
    (m: Map<string, number[]>) =>
    (subject: string, at = Date.now()) => {
      const id = subject.split(".")[2]!;
      const list = m.get(id) ?? [];
      if (list.length < PER_CALL) list.push(at);
      m.set(id, list);
    };
  const subs: Subscription[] = [
    // A say carries the agent's own stamp (`ts`), so this thread's lag does not move that hop's end.
    nc.subscribe("vc.call.*.say", {
      callback: (_e, msg) => {
        const m = JSON.parse(new TextDecoder().decode(msg.data)) as { type?: string; ts?: number };
        if (m.type === "say" && typeof m.ts === "number") note(say)(msg.subject, m.ts);
      },
    }),
    // An utterance's first chunk (seq 0) is the hop's end: later chunks would only fill the per-call list.
    nc.subscribe("vc.call.*.audio", {
      callback: (_e, msg) => msg.headers?.get("seq") === "0" && note(audio)(msg.subject),
    }),
    nc.subscribe("vc.call.*.evt", {
      callback: (_e, msg) => {
        const t = new TextDecoder().decode(msg.data);
        if (t.includes('"stream.started"') && t.includes('"greeting":')) pre.add(msg.subject.split(".")[2]!);
      },
    }),
  ];
  await nc.flush();
  return {
    reset() {
      say = new Map();
      audio = new Map();
      pre = new Set();
    },
    split(results, sentAt, replies = []) {
      const h = {
        mediaChecksMs: [] as number[],
        agentMs: [] as number[],
        ttsMs: [] as number[],
        playoutMs: [] as number[],
        wireMs: [] as number[],
      };
      for (const r of results) {
        if (!r.callId || r.startAbs === undefined || r.greetAbs === undefined || r.greetingStartMs === undefined)
          continue;
        const started = r.startAbs + r.greetingStartMs;
        const sent = sentAt.get(r.callId);
        h.mediaChecksMs.push(r.greetingStartMs);
        if (sent !== undefined) h.wireMs.push(r.greetAbs - sent);
        if (pre.has(r.callId)) continue;
        const s = say.get(r.callId)?.find((t) => t >= started - 5);
        const a = s === undefined ? undefined : audio.get(r.callId)?.find((t) => t >= s);
        if (s !== undefined) h.agentMs.push(s - started);
        if (s !== undefined && a !== undefined) h.ttsMs.push(a - s);
        if (a !== undefined && sent !== undefined) h.playoutMs.push(sent - a);
      }
      const rh = { agentMs: [] as number[], ttsMs: [] as number[], playoutMs: [] as number[] };
      for (const t of replies) {
        const s = say.get(t.callId)?.find((x) => x >= t.finalAt - 5);
        const a = s === undefined ? undefined : audio.get(t.callId)?.find((x) => x >= s);
        if (s === undefined || s > t.sentAt) continue;
        rh.agentMs.push(s - t.finalAt);
        if (a !== undefined && a <= t.sentAt + 5) (rh.ttsMs.push(a - s), rh.playoutMs.push(t.sentAt - a));
      }
      const n = results.filter((r) => r.callId && r.greetAbs !== undefined).length;
      const preRendered = results.filter((r) => r.callId && r.greetAbs !== undefined && pre.has(r.callId)).length;
      return {
        mediaChecksMs: dist(h.mediaChecksMs),
        agentMs: dist(h.agentMs),
        ttsMs: dist(h.ttsMs),
        playoutMs: dist(h.playoutMs),
        wireMs: dist(h.wireMs),
        preRendered,
        greetings: n,
        reply: { agentMs: dist(rh.agentMs), ttsMs: dist(rh.ttsMs), playoutMs: dist(rh.playoutMs) },
      };
    },
    stop() {
      for (const s of subs) s.unsubscribe();
    },
  };
}
