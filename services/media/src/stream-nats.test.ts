import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { startHarness, type Harness } from "../test/harness";

// Core NATS is at-most-once: what a worker published between its server's death and noticing it is
// gone. A caller final is the one event a turn cannot do without, so a worker sends it again on reconnect.
describe("media: NATS reconnect", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(1);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("each live stream sends its newest caller final again (same ts and text); a stream without one sends nothing", async () => {
    const call = await h.newCall();
    const c = h.client(call);
    const quiet = await h.newCall();
    h.client(quiet);
    await waitFor(
      () => h.of(call.callId, "stream.started").length === 1 && h.of(quiet.callId, "stream.started").length === 1,
      "both streams started",
    );
    c.say(1200);
    const final = await waitFor(() => h.of(call.callId, "transcript.final")[0], "final");
    const w = h.workers[0]!;
    const resent = () => w.logs.lines.filter((l) => l.msg === "nats reconnected, recent caller finals sent again");
    await h.servers.restartNats();
    await waitFor(() => resent().length === 1, "reconnect handled", 20_000);
    // Two live streams, one with a final to send.
    expect(resent()[0]).toMatchObject({ streams: 2, finalsResent: 1 });
    // The test's own connection may resubscribe after the worker's resend: seen twice when it was in time.
    const again = h.of(call.callId, "transcript.final").slice(1);
    for (const e of again) expect({ ts: e.ts, text: e.text }).toEqual({ ts: final.ts, text: final.text });
  }, 60_000);
});
