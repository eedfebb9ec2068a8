import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { startHarness, type Harness } from "../test/harness";

// A drain through real Caddy (round robin, lb_try_duration) over two workers: Caddy retries a failed
// dial on another replica but never a response, so the draining worker must stop listening.
describe("media drain behind Caddy", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(2, { DRAIN_TIMEOUT_MS: "30000" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("new streams during a drain go to the other worker; the draining worker's call goes on until it ends", async () => {
    const first = await h.newCall();
    const c = h.client(first);
    const started = await waitFor(() => h.of(first.callId, "stream.started")[0], "first stream");
    const draining = h.workers.find((w) => w.id === started.worker)!;
    const other = h.workers.find((w) => w !== draining)!;
    const drained = draining.app.drain(30_000);

    const calls = await Promise.all(Array.from({ length: 6 }, () => h.newCall()));
    const clients = calls.map((call) => h.client(call));
    const refused = clients.map((cl) =>
      cl.opened.then(
        () => false,
        () => true,
      ),
    );
    for (const call of calls)
      await waitFor(() => h.of(call.callId, "stream.started")[0], `stream of ${call.callId} during the drain`);
    expect(await Promise.all(refused)).toEqual([false, false, false, false, false, false]);
    expect(calls.map((call) => h.of(call.callId, "stream.started")[0]!.worker)).toEqual(calls.map(() => other.id));

    // The call on the draining worker is still served; the drain ends when it does.
    expect(draining.app.streams.live).toBe(1);
    expect(h.of(first.callId, "stream.stopped")).toEqual([]);
    c.stop();
    await drained;
    expect((await waitFor(() => h.of(first.callId, "stream.stopped")[0], "first stream stopped")).reason).toBe("stop");
    for (const cl of clients) cl.stop();
  });
});
