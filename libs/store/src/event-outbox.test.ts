import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "@voicecall/contracts";
import { startServers, testLogger, type Servers } from "@voicecall/testkit";
import { CallStore } from "./call-store";
import { connectRedis } from "./redis";

let s: Servers;
let store: CallStore;
let n = 0;
const newCall = async (id = `ev${++n}`) =>
  store.createCall({
    callId: id,
    direction: "outbound",
    mode: "conversation",
    from: "+15550000001",
    to: "+15550000002",
  });
const types = async (callId: string) => (await store.events.after(callId, "0-0", 100)).map((i) => i.entry.type);

beforeAll(async () => {
  s = await startServers();
  store = new CallStore(connectRedis(s.redisUrl, testLogger().log), { retentionMs: 60_000 });
});
afterAll(async () => {
  store?.redis.disconnect();
  await s?.stop();
});

describe("event outbox", () => {
  it("records each reported change with it, in order, and nothing for refused or unreported moves", async () => {
    const c = await newCall();
    await store.transition(c.callId, "ringing", "test");
    await store.transition(c.callId, "in-progress", "test");
    await store.transition(c.callId, "in-progress", "test"); // same: nothing
    await store.appendTranscript(c.callId, { role: "agent", text: "Hello", ts: Date.now() });
    await store.appendEvent(c.callId, "dtmf", { digit: "5" });
    await store.appendTranscript(c.callId, { role: "caller", text: "hi", ts: Date.now() });
    await store.transition(c.callId, "completed", "test", "hangup");
    await store.transition(c.callId, "failed", "test"); // refused: nothing
    expect(await types(c.callId)).toEqual([
      "call.created",
      "call.answered",
      "transcript",
      "dtmf",
      "transcript",
      "call.ended",
    ]);
    const items = await store.events.after(c.callId, "0-0", 100);
    expect(JSON.parse(items[0]!.entry.data)).toMatchObject({
      direction: "outbound",
      to: "+15550000002",
      state: "queued",
    });
    expect(JSON.parse(items[2]!.entry.data)).toMatchObject({ role: "agent", text: "Hello" });
    expect(JSON.parse(items[5]!.entry.data)).toMatchObject({
      state: "completed",
      prev: "in-progress",
      reason: "hangup",
    });
    // Every key has a TTL.
    for (const k of [keys.events(c.callId)]) expect(await store.redis.pttl(k)).toBeGreaterThan(0);
  });

  it("claims a due call for a lease, and releases it only when nothing is left past the cursor", async () => {
    await store.redis.del(keys.eventsDue);
    const c = await newCall();
    const now = Date.now() + 1000;
    expect(await store.events.claimDue(now, 10_000, 10)).toContain(c.callId);
    expect(await store.events.claimDue(now, 10_000, 10)).not.toContain(c.callId); // held
    const [first] = await store.events.after(c.callId, "0-0", 1);
    // A new event while claimed does not pull the call forward (ZADD NX).
    await store.appendEvent(c.callId, "dtmf", { digit: "1" });
    expect(await store.events.claimDue(now, 10_000, 10)).not.toContain(c.callId);
    await store.events.advance(c.callId, first!.id);
    expect(await store.events.release(c.callId, now)).toBe(true); // the dtmf is still to go
    expect(await store.events.claimDue(now, 10_000, 10)).toContain(c.callId);
    const rest = await store.events.after(c.callId, first!.id, 10);
    expect(rest.map((i) => i.entry.type)).toEqual(["dtmf"]);
    await store.events.advance(c.callId, rest[0]!.id);
    expect(await store.events.release(c.callId, now)).toBe(false);
    expect((await store.events.dueCalls()).map((d) => d.callId)).not.toContain(c.callId);
    expect((await store.events.state(c.callId)).cursor).toBe(rest[0]!.id);
    expect(await store.redis.pttl(keys.delivery(c.callId))).toBeGreaterThan(0);
  });

  it("skips every event of a call nobody listens to and hands the call back", async () => {
    await store.redis.del(keys.eventsDue);
    const c = await newCall();
    await store.appendEvent(c.callId, "dtmf", { digit: "1" });
    await store.appendEvent(c.callId, "dtmf", { digit: "2" });
    expect(await store.events.claimDue(Date.now() + 1000, 10_000, 10)).toContain(c.callId);
    await store.events.skipAll(c.callId);
    const all = await store.events.after(c.callId, "0-0", 100);
    expect((await store.events.state(c.callId)).cursor).toBe(all.at(-1)!.id);
    expect((await store.events.dueCalls()).map((d) => d.callId)).not.toContain(c.callId);
    expect(await store.redis.pttl(keys.delivery(c.callId))).toBeGreaterThan(0);
    // A later event makes the call due again, and only it lies past the cursor.
    await store.appendEvent(c.callId, "dtmf", { digit: "3" });
    expect((await store.events.dueCalls()).map((d) => d.callId)).toContain(c.callId);
    const rest = await store.events.after(c.callId, all.at(-1)!.id, 10);
    expect(rest.map((i) => i.entry.data)).toEqual([JSON.stringify({ digit: "3" })]);
  });

  it("keeps a failing head's attempts and dead letters with their exact body", async () => {
    const c = await newCall();
    await store.events.failed(
      c.callId,
      { attempts: 3, firstFailureAt: 100, lastError: "receiver answered 503" },
      Date.now() + 60_000,
    );
    expect(await store.events.state(c.callId)).toMatchObject({
      attempts: 3,
      firstFailureAt: 100,
      lastError: "receiver answered 503",
      cursor: "0-0",
    });
    expect(await store.events.claimDue(Date.now(), 1000, 100)).not.toContain(c.callId); // backing off
    const id = await store.events.deadLetter({
      callId: c.callId,
      eventId: `${c.callId}:1-0`,
      type: "dtmf",
      url: "http://x/y",
      body: '{"a":1}',
      attempts: 4,
      error: "e",
      ts: 5,
    });
    expect(await store.events.getDead(id)).toMatchObject({ callId: c.callId, body: '{"a":1}', attempts: 4 });
    expect((await store.events.deadLetters()).some((d) => d.id === id)).toBe(true);
    expect(await store.events.removeDead(id)).toBe(true);
    expect(await store.events.getDead(id)).toBeNull();
  });

  it("records a call's turns for its report", async () => {
    const c = await newCall();
    await store.recordTurn({ callId: c.callId, kind: "reply", latencyMs: 420, ts: Date.now() });
    expect(await store.callTurns(c.callId)).toMatchObject([{ kind: "reply", latencyMs: 420 }]);
    expect(await store.redis.pttl(keys.callTurns(c.callId))).toBeGreaterThan(0);
  });
});
