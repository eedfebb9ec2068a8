import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServers, testLogger, type Servers } from "@voicecall/testkit";
import type { CallState } from "@voicecall/contracts";
import { CallStore } from "./call-store";
import { connectRedis } from "./redis";

let s: Servers;
let store: CallStore;
let n = 0;
const newCall = async (id = `call${++n}`) =>
  store.createCall({
    callId: id,
    direction: "outbound",
    mode: "conversation",
    from: "+15550000001",
    to: "+15550000002",
    greeting: "Hello",
  });

beforeAll(async () => {
  s = await startServers();
  store = new CallStore(connectRedis(s.redisUrl, testLogger().log), { retentionMs: 60_000 });
});
afterAll(async () => {
  store?.redis.disconnect();
  await s?.stop();
});

describe("CallStore", () => {
  it("creates a call and reads it back typed", async () => {
    const c = await newCall();
    const back = await store.getCall(c.callId);
    expect(back).toMatchObject({ callId: c.callId, state: "queued", greetingPlayed: false, streamCount: 0 });
    expect(await store.activeCallIds()).toContain(c.callId);
    expect(await store.getCall("nope")).toBeNull();
  });

  it("moves forward, refuses backwards, and terminal is final", async () => {
    const c = await newCall();
    expect((await store.transition(c.callId, "ringing", "test")).result).toBe("applied");
    expect((await store.transition(c.callId, "initiated", "test")).result).toBe("refused");
    expect((await store.transition(c.callId, "ringing", "test")).result).toBe("same");
    expect((await store.transition(c.callId, "completed", "test", "hangup")).result).toBe("applied");
    expect((await store.transition(c.callId, "in-progress", "test")).result).toBe("refused");
    expect((await store.transition(c.callId, "failed", "test")).result).toBe("refused");
    const rec = (await store.getCall(c.callId))!;
    expect(rec.state).toBe("completed");
    expect(rec.endReason).toBe("hangup");
    expect(await store.activeCallIds()).not.toContain(c.callId);
    expect((await store.timeline(c.callId)).map((t) => t.state)).toEqual(["queued", "ringing", "completed"]);
    expect(await store.redis.pttl(`vc:call:${c.callId}`)).toBeGreaterThan(0);
    expect((await store.transition("missing", "ringing", "test")).result).toBe("missing");
  });

  it("any order of callbacks ends in the right terminal state (1,000 shuffles)", async () => {
    const events: CallState[] = ["initiated", "ringing", "in-progress", "completed"];
    const c = await newCall();
    for (let i = 0; i < 1000; i++) {
      const id = `${c.callId}-${i}`;
      await store.createCall({
        callId: id,
        direction: "outbound",
        mode: "notify",
        from: "+15550000001",
        to: "+15550000002",
      });
      const seq = [...events, ...events.filter(() => Math.random() < 0.5)].sort(() => Math.random() - 0.5);
      await Promise.all(seq.map((st) => store.transition(id, st, "shuffle")));
      expect((await store.getCall(id))!.state).toBe("completed");
    }
  });

  it("transcript, leases, first-seen and the webhook answer cache", async () => {
    const c = await newCall();
    await store.appendTranscript(c.callId, { role: "agent", text: "Hello", ts: 1 });
    await store.appendTranscript(c.callId, { role: "caller", text: "Hi", ts: 2, interrupted: false });
    expect((await store.transcript(c.callId)).map((t) => t.text)).toEqual(["Hello", "Hi"]);

    expect(await store.acquireLease("agent", c.callId, "a1", 10_000)).toBe(true);
    expect(await store.acquireLease("agent", c.callId, "a2", 10_000)).toBe(false);
    expect(await store.acquireLease("agent", c.callId, "a1", 10_000)).toBe(true);
    expect(await store.acquireLease("agent", c.callId, "a2", 10_000, "a1")).toBe(true);
    expect(await store.releaseLease("agent", c.callId, "a1")).toBe(false);
    expect(await store.leaseOwner("agent", c.callId)).toBe("a2");

    expect(await store.firstSeen("k1", 10_000)).toBe(true);
    expect(await store.firstSeen("k1", 10_000)).toBe(false);

    expect(await store.webhookAnswer("CA1", "<Response>1</Response>", 10_000)).toBe("<Response>1</Response>");
    expect(await store.webhookAnswer("CA1", "<Response>2</Response>", 10_000)).toBe("<Response>1</Response>");
  });

  it("first-seen of several keys records every one and is true only when none was seen", async () => {
    expect(await store.firstSeenAll(["m1", "m2"], 10_000)).toBe(true);
    expect(await store.firstSeenAll(["m1", "m3"], 10_000)).toBe(false);
    // m3 was recorded by the call above although m1 had been seen.
    expect(await store.firstSeen("m3", 10_000)).toBe(false);
    expect(await store.firstSeenAll(["m4"], 10_000)).toBe(true);
  });

  it("a transcript line can set record fields in the same write", async () => {
    const c = await newCall();
    await store.appendTranscript(c.callId, { role: "caller", text: "Hi", ts: 5 }, { handledFinalTs: 5 });
    expect((await store.transcript(c.callId)).map((t) => t.text)).toEqual(["Hi"]);
    expect((await store.getCall(c.callId))?.handledFinalTs).toBe(5);
    await store.appendTranscript(c.callId, { role: "agent", text: "Hello", ts: 6 }, {});
    expect((await store.transcript(c.callId)).map((t) => t.text)).toEqual(["Hi", "Hello"]);
  });

  it("records turn latencies and reads them back since a time", async () => {
    const t0 = Date.now();
    await store.recordTurn({ callId: "t1", kind: "reply", latencyMs: 120, ts: t0 });
    await store.recordTurn({ callId: "t1", kind: "greeting", latencyMs: 8, ts: t0 });
    const got = await store.turns(t0 - 1000);
    expect(got.filter((t) => t.callId === "t1").map((t) => [t.kind, t.latencyMs])).toEqual([
      ["reply", 120],
      ["greeting", 8],
    ]);
    expect(await store.turns(Date.now() + 60_000)).toEqual([]);
  });

  it("a redis restart loses no call (AOF)", async () => {
    const c = await newCall();
    await store.transition(c.callId, "in-progress", "test");
    await s.restartRedis();
    expect((await store.getCall(c.callId))!.state).toBe("in-progress");
  });
});
