/**
 * `npx tsx bench/events.ts [--calls 20] [--lines 30] [--down-s 15]`
 *
 * Call-event delivery, measured: the in-process gateway (default tuning and retry settings) over real
 * Redis and NATS delivers to a real receiver on loopback. (1) `calls` concurrent calls append `lines`
 * transcript lines each, 100 ms apart: latency from the write to the receiver's arrival, and
 * throughput. (2) The receiver goes down for `down-s` seconds while calls go on: how long after it
 * is back until every event has arrived (bounded by the backoff reached, EVENT_RETRY_MAX_MS at most).
 * Numbers are printed, never asserted.
 */
import { parseArgs } from "node:util";
import { EventReceiver, waitFor } from "@voicecall/testkit";
import { startGateway, startHarness } from "@voicecall/gateway/testing";

const { values } = parseArgs({
  options: { calls: { type: "string" }, lines: { type: "string" }, "down-s": { type: "string" } },
});
const CALLS = Number(values.calls ?? 20);
const LINES = Number(values.lines ?? 30);
const DOWN_S = Number(values["down-s"] ?? 15);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

const h = await startHarness();
const rx = await new EventReceiver().start();
const g = await startGateway(h, { EVENT_WEBHOOK_URL: rx.url, EVENT_WEBHOOK_SECRET: "bench-secret-0123456789abcdef" });
await g.gw.start();

async function calls(tag: string): Promise<string[]> {
  const ids = Array.from({ length: CALLS }, (_, i) => `${tag}-${i}`);
  await Promise.all(
    ids.map(async (callId) => {
      await h.store.createCall({
        callId,
        direction: "outbound",
        mode: "conversation",
        from: "+15550000001",
        to: "+15550000002",
      });
      for (let i = 0; i < LINES; i++) {
        await h.store.appendTranscript(callId, { role: i % 2 ? "caller" : "agent", text: `line ${i}`, ts: Date.now() });
        await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  return ids;
}
const total = (ids: string[]) => ids.reduce((n, id) => n + rx.events(id).length, 0);

// (1) steady delivery
const t0 = Date.now();
const a = await calls("steady");
await waitFor(() => total(a) === CALLS * (LINES + 1), "steady delivered", 120_000, 20);
const lat = rx
  .accepted()
  .filter((r) => r.json.callId.startsWith("steady"))
  .map((r) => r.at - r.json.ts);
/** `callId:<ms>-<seq>` → [ms, seq]: the outbox order. */
const place = (id: string) =>
  id
    .slice(id.lastIndexOf(":") + 1)
    .split("-")
    .map(Number) as [number, number];
const before = (x: string, y: string) => {
  const [a1, a2] = place(x);
  const [b1, b2] = place(y);
  return a1 < b1 || (a1 === b1 && a2 < b2);
};
const inOrder = a.every((id) => rx.events(id).every((e, i, all) => i === 0 || before(all[i - 1]!.id, e.id)));
console.log(
  `steady: ${CALLS} calls × ${LINES + 1} events = ${lat.length} events in ${((Date.now() - t0) / 1000).toFixed(1)} s; write → receiver p50 ${pct(lat, 50)} ms, p95 ${pct(lat, 95)} ms, max ${pct(lat, 100)} ms; in order per call: ${inOrder}`,
);

// (2) receiver down, then back
await rx.stop();
const downAt = Date.now();
const b = await calls("outage");
await new Promise((r) => setTimeout(r, Math.max(0, DOWN_S * 1000 - (Date.now() - downAt))));
await rx.start();
const backAt = Date.now();
await waitFor(() => total(b) === CALLS * (LINES + 1), "outage delivered", 300_000, 20);
const dup = rx.accepted().filter((r) => r.json.callId.startsWith("outage")).length - CALLS * (LINES + 1);
console.log(
  `outage: receiver down ${((backAt - downAt) / 1000).toFixed(1)} s with ${CALLS * (LINES + 1)} events queued; all delivered ${((Date.now() - backAt) / 1000).toFixed(1)} s after it was back (defaults: backoff 1 s doubling to 60 s); duplicates ${dup}`,
);

await g.close();
await rx.stop();
await h.stop();
