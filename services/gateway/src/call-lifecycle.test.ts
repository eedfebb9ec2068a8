import { describe, expect, it } from "vitest";
import type { Bus } from "@voicecall/bus";
import type { CallRecord } from "@voicecall/contracts";
import type { CallStore, TransitionResult } from "@voicecall/store";
import { testLogger } from "@voicecall/testkit";
import { CallLifecycle } from "./call-lifecycle";

const rec = { callId: "c1", callSid: "CA12345678", direction: "outbound", mode: "conversation" } as CallRecord;

function harness(result: TransitionResult["result"]) {
  const published: { subject: string; msg: Record<string, unknown> }[] = [];
  let reads = 0;
  const bus = {
    publish: (subject: string, _s: unknown, msg: Record<string, unknown>) => published.push({ subject, msg }),
  };
  const store = {
    transition: async () => ({ result, prev: "ringing" }),
    getCall: async () => (reads++, rec),
  };
  const lc = new CallLifecycle(bus as unknown as Bus, store as unknown as CallStore, testLogger().log, () => 7);
  return { lc, published, reads: () => reads };
}

describe("CallLifecycle.apply", () => {
  it("announces from the record the caller holds, without reading it again", async () => {
    const h = harness("applied");
    await h.lc.apply("c1", "in-progress", "test", "", rec);
    expect(h.reads()).toBe(0);
    expect(h.published.map((p) => p.msg.type)).toEqual(["call.state", "call.answered"]);
    expect(h.published[0]!.msg).toMatchObject({ callSid: "CA12345678", prev: "ringing", ts: 7 });
  });

  it("reads the record when the caller has none", async () => {
    const h = harness("applied");
    await h.lc.apply("c1", "completed", "test");
    expect(h.reads()).toBe(1);
    expect(h.published.map((p) => p.msg.type)).toEqual(["call.state", "call.ended"]);
  });

  it("announces nothing when the transition is not applied", async () => {
    const h = harness("refused");
    await h.lc.apply("c1", "completed", "test", "", rec);
    expect(h.published).toEqual([]);
  });
});
