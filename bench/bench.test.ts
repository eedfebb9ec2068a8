import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseArgs, runBench, type BenchReport } from "./run";
import { rssSlopeKB } from "./capacity";

/**
 * Smoke version of `npm run bench`: 3 calls through the whole stack (instant vendors) and a one-step
 * capacity ramp. Asserts only that the report comes out with numbers in it: timings are never asserted.
 */
describe("npm run bench (smoke)", () => {
  it("parses its flags", () => {
    expect(parseArgs([])).toMatchObject({
      calls: [100],
      scenarios: ["instant", "offline"],
      capacity: false,
      json: "artifacts/bench.json",
    });
    expect(parseArgs(["--calls", "7", "--duration", "3", "--scenario", "offline", "--json", "x.json"])).toMatchObject({
      calls: [7],
      durationS: 3,
      scenarios: ["offline"],
      json: "x.json",
    });
    expect(parseArgs(["--scenario", "all"])).toMatchObject({ scenarios: ["instant", "offline"], capacity: true });
    expect(parseArgs(["--capacity"])).toMatchObject({ scenarios: [], capacity: true });
    expect(parseArgs(["--rtt", "200", "--jitter", "30"])).toMatchObject({ rttMs: 200, jitterMs: 30 });
    expect(() => parseArgs(["--rtt", "-5"])).toThrow(/--rtt needs a number/);
    expect(() => parseArgs(["--scenario", "fast"])).toThrow(/--scenario/);
    expect(() => parseArgs(["--calls"])).toThrow(/needs a value/);
    expect(parseArgs(["--media-env", "VAD_PROVIDER=silero", "--media-env", "STT_VOCABULARY=open"]).mediaEnv).toEqual({
      VAD_PROVIDER: "silero",
      STT_VOCABULARY: "open",
    });
    expect(() => parseArgs(["--media-env", "=x"])).toThrow(/KEY=VALUE/);
  });

  it("takes steady-state memory per stream as the RSS slope over the steps, without the one-off growth", () => {
    // 30 MB of one-off growth on the first 100 streams, then 150 KB per stream.
    const steps = [
      { streams: 0, rssKB: 100_000 },
      { streams: 100, rssKB: 145_000 },
      { streams: 200, rssKB: 160_000 },
      { streams: 300, rssKB: 175_000 },
    ];
    expect(rssSlopeKB(steps)).toBe(150);
    expect(rssSlopeKB(steps.slice(0, 2))).toBeUndefined(); // one step with streams: no slope
  });

  it("runs 3 calls and a capacity step and writes the JSON report", async () => {
    const json = join(tmpdir(), `vc-bench-${process.pid}.json`);
    rmSync(json, { force: true });
    const o = {
      ...parseArgs(["--calls", "3", "--duration", "1", "--scenario", "instant", "--json", json]),
      capacity: true,
      capacityStep: 3,
      capacityMax: 3,
      capacityStepS: 1,
      pin: false,
      quiet: true,
    };
    const r = await runBench(o);
    expect(existsSync(json)).toBe(true);
    const saved = JSON.parse(readFileSync(json, "utf8")) as BenchReport;
    const s = saved.scenarios[0]!;
    expect(s.scenario).toBe("instant");
    expect(s.calls.ok).toBeGreaterThan(0);
    for (const d of [s.greetingMs, s.overheadMs, s.voiceToVoiceMs]) {
      expect(d.n).toBeGreaterThan(0);
      expect(typeof d.p50).toBe("number");
      expect(typeof d.p99).toBe("number");
    }
    expect(typeof s.underrunsPerCall).toBe("number");
    // The reply hop by hop: every answered turn's say and first chunk were seen on the bus.
    expect(s.hops.reply.agentMs.n).toBeGreaterThan(0);
    expect(s.hops.reply.playoutMs.n).toBeGreaterThan(0);
    // The vendor stand-ins run on their own thread, and its lag is reported.
    expect(s.driver.vendorLagP99Ms).toBeGreaterThanOrEqual(0);
    expect(s.media?.rssPeakMB).toBeGreaterThan(0);
    // What crossed the bus and Redis (docs/scaling.md's per-call figures): audio went over NATS.
    expect(s.wire.natsMsgsPerCallSBySubject.audio).toBeGreaterThan(0);
    expect(s.wire.redisOpsPerCallS).toBeGreaterThan(0);
    expect(saved.capacity?.steps.length).toBeGreaterThan(1);
    expect(typeof saved.capacity?.steps.at(-1)?.lagP99Ms).toBe("number");
    expect(r.table).toMatch(/greeting: start → first frame heard/);
    rmSync(json, { force: true });
  }, 240_000);
});
