import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { waitFor } from "@voicecall/testkit";
import { startHarness, type Harness } from "../test/harness";

/**
 * Sequential Redis round trips on one client: a command sent while none is in flight starts a new trip;
 * commands sent together (Promise.all, one script) share it.
 */
function roundTrips(redis: Redis) {
  let inflight = 0;
  let trips = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((cmd: Parameters<Redis["sendCommand"]>[0], stream?: Parameters<Redis["sendCommand"]>[1]) => {
    if (inflight++ === 0) trips++;
    const p = send(cmd, stream);
    void Promise.resolve(p)
      .finally(() => inflight--)
      .catch(() => undefined);
    return p;
  }) as Redis["sendCommand"];
  return {
    get trips() {
      return trips;
    },
    reset: () => (trips = 0),
    restore: () => (redis.sendCommand = send),
  };
}

// Stream admission (`admission.ts`): token, call, lease and record in one Redis round trip after `start`.
describe("media: stream admission", () => {
  let h: Harness;
  let rt: ReturnType<typeof roundTrips>;
  beforeAll(async () => {
    h = await startHarness(1);
    // Connected first: the handshake (HELLO, INFO) is not admission's.
    await h.workers[0]!.redis.ping();
    rt = roundTrips(h.workers[0]!.redis);
  });
  afterAll(async () => {
    rt?.restore();
    await h?.stop();
  });

  it("admits a signed Twilio stream in one Redis round trip: stream.started names it, the record and lease follow", async () => {
    const call = await h.newCall();
    rt.reset();
    const c = h.client(call);
    const started = await waitFor(() => h.of(call.callId, "stream.started")[0], "stream.started");
    expect(rt.trips).toBe(1);
    expect(started).toMatchObject({ streamSid: c.streamSid, callSid: call.callSid, worker: h.workers[0]!.id });
    const rec = await h.store.getCall(call.callId);
    expect(rec).toMatchObject({ streamSid: c.streamSid, mediaOwner: h.workers[0]!.id, streamCount: 1 });
    expect(await h.store.leaseOwner("stream", call.callId)).toBe(`${h.workers[0]!.id}/${c.streamSid}`);
    c.stop();
    // Its end report (record read, lease release) is done before the next test counts.
    await waitFor(() => h.of(call.callId, "stream.stopped").length === 1, "stream.stopped");
  });

  it("admits a browser call's unsigned stream in one round trip too (the channel check is in the same script)", async () => {
    const web = await h.newCall();
    await h.store.update(web.callId, { channel: "web" });
    rt.reset();
    const page = h.client(web, { authToken: undefined });
    await waitFor(() => h.of(web.callId, "stream.started").length === 1, "the browser stream");
    expect(rt.trips).toBe(1);
    page.stop();
  });

  it("a newer stream of the call takes the lease over at once; the count says two streams", async () => {
    const call = await h.newCall();
    const first = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "first stream");
    const second = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 2, "second stream");
    expect(await h.store.leaseOwner("stream", call.callId)).toBe(`${h.workers[0]!.id}/${second.streamSid}`);
    expect((await h.store.getCall(call.callId))?.streamCount).toBe(2);
    await first.closed;
    second.stop();
  });

  it("refuses an unknown call (1008) and an ended one (1000), with no stream.started", async () => {
    const ghost = { callId: "no-such-call", callSid: "CA" + "0".repeat(32) };
    const c1 = h.client(ghost);
    expect(await c1.closed).toEqual({ code: 1008, reason: "unknown call" });
    const call = await h.newCall();
    await h.store.transition(call.callId, "completed", "test");
    const c2 = h.client(call);
    expect(await c2.closed).toEqual({ code: 1000, reason: "call ended" });
    expect(h.of(call.callId, "stream.started")).toEqual([]);
  });
});
