import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isTerminal, subjects, type CallState } from "@voicecall/contracts";
import {
  ACCOUNT_SID,
  api,
  startGateway,
  startHarness,
  twilioPost,
  type Harness,
  type RunningGateway,
} from "../test/harness";

let h: Harness;
let g: RunningGateway;
beforeAll(async () => {
  h = await startHarness();
  g = await startGateway(h, { MAX_CONCURRENT_CALLS: "5000" });
});
afterAll(async () => {
  await g?.close();
  await h?.stop();
});

/** Deterministic PRNG so a failing order can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const outcomes: { final: CallState; events: CallState[] }[] = [
  { final: "completed", events: ["initiated", "ringing", "in-progress", "completed"] },
  { final: "busy", events: ["initiated", "ringing", "busy"] },
  { final: "no-answer", events: ["initiated", "ringing", "no-answer"] },
  { final: "failed", events: ["initiated", "failed"] },
  { final: "canceled", events: ["initiated", "ringing", "canceled"] },
];
const rank: Record<string, number> = { queued: 0, initiated: 1, ringing: 2, "in-progress": 3 };
const rankOf = (s: string) => rank[s] ?? 4;

/** One scenario: Twilio's callbacks for an outcome, some delivered 2–3 times, in a random order. */
function scenario(rnd: () => number) {
  const o = outcomes[Math.floor(rnd() * outcomes.length)]!;
  const deliveries = o.events.flatMap((e, seq) =>
    Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({ state: e, seq })),
  );
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }
  return { final: o.final, deliveries };
}

async function checkTimeline(callId: string, final: CallState) {
  const tl = await h.store.timeline(callId);
  const ranks = tl.map((t) => rankOf(t.state));
  for (let i = 1; i < ranks.length; i++) expect(ranks[i]).toBeGreaterThan(ranks[i - 1]!);
  expect(tl.at(-1)!.state).toBe(final);
  expect(tl.filter((t) => isTerminal(t.state))).toHaveLength(1);
}

describe("status callbacks shuffled and duplicated: final state always right", () => {
  it("1,000 orders through the gateway's transition path", async () => {
    const seed = Number(process.env.GATEWAY_PROP_SEED ?? 20261124);
    const rnd = mulberry32(seed);
    const scenarios = Array.from({ length: 1000 }, () => ({ callId: randomUUID(), ...scenario(rnd) }));
    const lc = g.gw.ctx.lifecycle;
    const batch = 50;
    for (let b = 0; b < scenarios.length; b += batch) {
      await Promise.all(
        scenarios.slice(b, b + batch).map(async (s) => {
          await h.store.createCall({
            callId: s.callId,
            direction: "outbound",
            mode: "conversation",
            from: "+14155550100",
            to: "+14155550123",
          });
          for (const d of s.deliveries) await lc.apply(s.callId, d.state, "status-callback");
        }),
      );
    }
    for (const s of scenarios) {
      const rec = await h.store.getCall(s.callId);
      expect(rec?.state, `seed ${seed} order ${s.deliveries.map((d) => d.state).join(",")}`).toBe(s.final);
      await checkTimeline(s.callId, s.final);
    }
    await h.settle();
    const ended = h.messages.filter((m) => m.subject === subjects.lifecycle && m.data.type === "call.ended");
    expect(ended).toHaveLength(1000);
    expect(new Set(ended.map((m) => m.data.callId)).size).toBe(1000);
    expect(await h.store.activeCallIds()).toEqual([]);
  });

  it("a sample of 25 orders over signed HTTP, duplicates delivered concurrently", async () => {
    const rnd = mulberry32(7);
    for (let i = 0; i < 25; i++) {
      const s = scenario(rnd);
      const { callId, callSid } = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      const results = await Promise.all(
        s.deliveries.map((d) =>
          twilioPost(
            g.url,
            `/voice/status?callId=${callId}`,
            { CallSid: callSid, AccountSid: ACCOUNT_SID, CallStatus: d.state, SequenceNumber: String(d.seq) },
            { idempotencyToken: `${callSid}-${d.seq}` },
          ),
        ),
      );
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect((await h.store.getCall(callId))!.state).toBe(s.final);
      await checkTimeline(callId, s.final);
    }
  });
});
