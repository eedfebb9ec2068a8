import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor, type VoiceStack } from "@voicecall/testkit";
import type { Phone } from "@voicecall/twilio-sim";
import { chaosCalls, printTable, writeArtifact } from "./report";
import { startChaosStack } from "./stack";

/**
 * Call lifecycle rows of the chaos suite (docs/reliability.md): inbound calls on a number with only a
 * Voice URL (no status callbacks at all) end when the callers hang up, and a media worker drained under
 * load refuses no new call and drops none.
 */
const N = chaosCalls();
const NUMBER = "+15005550006";
let v: VoiceStack;

beforeAll(async () => {
  v = await startChaosStack({
    mediaReplicas: 2,
    stopGraceMs: 60_000,
    serviceEnv: {
      gateway: { INBOUND_POLICY: "open", MAX_CONCURRENT_CALLS: "200" },
      media: { DRAIN_TIMEOUT_MS: "8000" },
    },
  });
  v.sim.setNumber(NUMBER, `${v.stack.origin}/voice/webhook`);
}, 180_000);
afterAll(async () => {
  await v?.stop();
});

async function inbound(n: number, from = 1): Promise<Phone[]> {
  const phones = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      v.sim.incoming({ from: `+1500555${String(from + i).padStart(4, "0")}`, to: NUMBER }),
    ),
  );
  await Promise.all(phones.map((p) => p.waitForStream(1, 60_000)));
  return phones;
}

const callIdOf = (p: Phone) => waitFor(() => v.store.callIdBySid(p.sid), `call id of ${p.sid}`, 20_000);

describe("chaos: call lifecycle", () => {
  it(`${N} inbound calls without a status callback end within 10 s of hang-up`, async () => {
    const phones = await inbound(N);
    const ids = await Promise.all(phones.map(callIdOf));
    await Promise.all(
      ids.map((id) =>
        waitFor(async () => (await v.store.leaseOwner("stream", id)) ?? undefined, "stream owned", 30_000),
      ),
    );
    const t0 = Date.now();
    await Promise.all(phones.map((p) => p.hangup()));
    const endedAfter: number[] = [];
    await Promise.all(
      ids.map(async (id) => {
        await waitFor(async () => (await v.store.getCall(id))?.state === "completed", "ended", 10_000).catch(
          () => undefined,
        );
        if ((await v.store.getCall(id))?.state === "completed") endedAfter.push(Date.now() - t0);
      }),
    );
    const leftActive = (await v.store.activeCallIds()).filter((id) => ids.includes(id)).length;
    const row = {
      calls: N,
      statusCallbacks: phones.reduce((k, p) => k + p.requests("status").length, 0),
      leftActive10s: leftActive,
      endedMaxMs: Math.max(0, ...endedAfter),
    };
    printTable("inbound calls without a status callback", [row]);
    writeArtifact("inboundWithoutStatusCallback", row);
    expect(row.statusCallbacks).toBe(0);
    expect(leftActive).toBe(0);
  }, 180_000);

  it(`drain a media worker under ${N} calls: new calls refused 0, calls dropped 0`, async () => {
    const before = await inbound(N, 100);
    const ids = await Promise.all(before.map(callIdOf));
    await Promise.all(ids.map((id) => waitFor(async () => (await v.store.getCall(id))?.mediaOwner, "owned", 30_000)));
    const victim = v.stack.services.media[0]!;
    const stopping = victim.stop(); // SIGTERM: drain (DRAIN_TIMEOUT_MS), then 1001 → reconnect elsewhere
    await new Promise((r) => setTimeout(r, 1000));
    const during = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        v.sim.incoming({ from: `+1500556${String(i).padStart(4, "0")}`, to: NUMBER }),
      ),
    );
    const streams = await Promise.all(during.map((p) => p.waitForStream(1, 60_000)));
    const refused = streams.filter((s) => !s.result?.ok).length;
    await stopping;
    // Calls that were on the drained worker reconnected to the other one.
    await Promise.all(
      ids.map((id) =>
        waitFor(
          async () => (await v.store.leaseOwner("stream", id))?.startsWith(v.stack.services.media[1]!.instance),
          "moved",
          30_000,
        ).catch(() => undefined),
      ),
    );
    const all = [...before, ...during];
    const dropped = all.filter((p) => p.status !== "in-progress").length;
    const row = {
      calls: N,
      newDuringDrain: N,
      refused,
      dropped,
      reconnects: before.reduce((k, p) => k + Math.max(0, p.streams.length - 1), 0),
    };
    printTable("drain a media worker", [row]);
    writeArtifact("drainMediaWorker", row);
    await Promise.all(all.map((p) => p.hangup()));
    await victim.restart();
    expect(refused).toBe(0);
    expect(dropped).toBe(0);
  }, 240_000);
});
