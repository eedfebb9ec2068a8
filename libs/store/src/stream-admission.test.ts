import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServers, testLogger, type Servers } from "@voicecall/testkit";
import { CallStore } from "./call-store";
import { connectRedis } from "./redis";
import type { StreamAdmissionRequest } from "./stream-admission";

let s: Servers;
let store: CallStore;
let n = 0;

beforeAll(async () => {
  s = await startServers();
  store = new CallStore(connectRedis(s.redisUrl, testLogger().log), { retentionMs: 60_000 });
});
afterAll(async () => {
  store?.redis.disconnect();
  await s?.stop();
});

const newCall = async (channel?: "web") => {
  const callId = `adm${++n}`;
  await store.createCall({
    callId,
    direction: "outbound",
    mode: "conversation",
    from: "+15550000001",
    to: "+15550000002",
    state: "in-progress",
  });
  if (channel) await store.update(callId, { channel });
  return callId;
};
const req = (callId: string, o: Partial<StreamAdmissionRequest> = {}): StreamAdmissionRequest => {
  const streamSid = o.streamSid ?? `MZ${callId}-${++n}`;
  return {
    callId,
    streamSid,
    tokenId: `tok-${streamSid}`,
    tokenTtlMs: 60_000,
    signed: true,
    owner: `w1/${streamSid}`,
    worker: "w1",
    leaseTtlMs: 5_000,
    ...o,
  };
};

describe("CallStore.admitStream (admit-stream.lua)", () => {
  it("admits: lease taken, record names the stream, count up, the call returned typed", async () => {
    const callId = await newCall();
    const r = req(callId);
    const a = await store.admitStream(r);
    expect(a).toMatchObject({
      ok: true,
      streamCount: 1,
      call: { callId, state: "in-progress", streamSid: r.streamSid, mediaOwner: "w1" },
    });
    expect(a.ok && a.previousOwner).toBeUndefined();
    expect(await store.leaseOwner("stream", callId)).toBe(r.owner);
  });

  it("an unsigned start of a phone call is refused before the token is spent; a browser call's is admitted", async () => {
    const callId = await newCall();
    const r = req(callId);
    expect(await store.admitStream({ ...r, signed: false })).toEqual({ ok: false, refused: "unsigned" });
    expect(await store.admitStream(r)).toMatchObject({ ok: true });
    const web = await newCall("web");
    expect(await store.admitStream(req(web, { signed: false }))).toMatchObject({ ok: true });
  });

  it("a token is single use, whatever the streamSid", async () => {
    const callId = await newCall();
    const r = req(callId);
    expect(await store.admitStream(r)).toMatchObject({ ok: true });
    expect(await store.admitStream({ ...r, streamSid: "MZother", owner: "w2/MZother", worker: "w2" })).toEqual({
      ok: false,
      refused: "used",
    });
  });

  it("refuses an unknown call and an ended one", async () => {
    expect(await store.admitStream(req("no-such-call"))).toEqual({ ok: false, refused: "unknown" });
    const callId = await newCall();
    await store.transition(callId, "completed", "test");
    expect(await store.admitStream(req(callId))).toEqual({ ok: false, refused: "ended" });
  });

  it("a new streamSid takes the lease over; the same streamSid held by another worker is refused", async () => {
    const callId = await newCall();
    const first = req(callId);
    await store.admitStream(first);
    const second = req(callId, { owner: "w2/MZsecond", streamSid: "MZsecond", worker: "w2" });
    expect(await store.admitStream(second)).toMatchObject({ ok: true, streamCount: 2, previousOwner: first.owner });
    expect(await store.leaseOwner("stream", callId)).toBe(second.owner);
    const sameSid = req(callId, {
      streamSid: "MZsecond",
      owner: "w3/MZsecond",
      worker: "w3",
      tokenId: "another-token",
    });
    expect(await store.admitStream(sameSid)).toEqual({ ok: false, refused: "owned" });
    expect((await store.getCall(callId))?.mediaOwner).toBe("w2");
  });
});
