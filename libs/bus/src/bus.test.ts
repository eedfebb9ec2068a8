import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServers, testLogger, waitFor, type Servers } from "@voicecall/testkit";
import { CallEvent, audioHeaderRecord, parseAudioHeaders, subjects } from "@voicecall/contracts";
import { connectBus, type Bus } from "./bus";

let s: Servers;
let bus: Bus;
const t = testLogger("bus");

beforeAll(async () => {
  s = await startServers({ redis: false });
  bus = await connectBus({ url: s.natsUrl, name: "test", log: t.log });
});
afterAll(async () => {
  await bus?.drain();
  await s?.stop();
});

describe("Bus", () => {
  it("delivers valid JSON messages typed, and skips invalid ones with a log line", async () => {
    const got: CallEvent[] = [];
    bus.subscribe(subjects.evt("c1"), CallEvent, (m) => void got.push(m));
    await bus.flush();
    bus.nc.publish(subjects.evt("c1"), new TextEncoder().encode("{not json"));
    bus.nc.publish(subjects.evt("c1"), new TextEncoder().encode(JSON.stringify({ type: "dtmf", callId: "c1" })));
    bus.publish(subjects.evt("c1"), CallEvent, {
      type: "dtmf",
      v: 1,
      callId: "c1",
      ts: Date.now(),
      streamSid: "MZ1",
      digit: "5",
    });
    await waitFor(() => got.length === 1, "valid message");
    expect(got[0]).toMatchObject({ type: "dtmf", digit: "5" });
    await waitFor(() => t.lines.filter((l) => l.msg === "invalid bus message skipped").length === 2, "two skipped");
  });

  it("refuses to publish an invalid message", () => {
    expect(() =>
      bus.publish(subjects.evt("c1"), CallEvent, {
        type: "dtmf",
        callId: "c1",
        ts: 1,
        streamSid: "MZ",
        digit: "x",
      } as never),
    ).toThrow();
  });

  it("carries binary audio with headers", async () => {
    let hdr: ReturnType<typeof parseAudioHeaders> | undefined;
    let bytes = 0;
    bus.subscribeBinary(subjects.audio("c2"), (payload, h) => {
      hdr = parseAudioHeaders(h);
      bytes = payload.length;
    });
    await bus.flush();
    bus.publishBinary(
      subjects.audio("c2"),
      new Uint8Array(320),
      audioHeaderRecord({
        callId: "c2",
        utteranceId: "u1",
        seq: 0,
        last: true,
        generation: 3,
        purpose: "greeting",
        text: "Hello, world\nbye",
      }),
    );
    await waitFor(() => hdr, "audio");
    expect(bytes).toBe(320);
    expect(hdr).toMatchObject({
      utteranceId: "u1",
      seq: 0,
      last: true,
      generation: 3,
      purpose: "greeting",
      text: "Hello, world\nbye",
    });
  });

  it("a binary handler that throws skips that message only; the next ones arrive, in order", async () => {
    const seen: number[] = [];
    bus.subscribeBinary(subjects.audio("c3"), (payload) => {
      if (payload[0] === 1) throw new Error("bad chunk");
      seen.push(payload[0]!);
    });
    await bus.flush();
    const hdrs = audioHeaderRecord({
      callId: "c3",
      utteranceId: "u",
      seq: 0,
      last: false,
      generation: 0,
      purpose: "reply",
    });
    for (const b of [0, 1, 2, 3]) bus.publishBinary(subjects.audio("c3"), new Uint8Array([b]), hdrs);
    await waitFor(() => seen.length === 3, "the chunks after the bad one");
    expect(seen).toEqual([0, 2, 3]);
  });

  it("rejects callIds that would break subject tokens", () => {
    expect(() => subjects.evt("a.b")).toThrow();
    expect(() => subjects.evt("*")).toThrow();
  });
});
