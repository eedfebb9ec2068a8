/**
 * `npm run bench -- [--calls N[,M…]] [--workers K] [--no-limit] [--duration S] [--scenario instant|offline|all] [--capacity] [--media-env K=V]… [--rtt MS] [--jitter MS] [--json out.json]`
 *
 * Drives N concurrent simulated calls through Caddy TLS into the real stack and prints a table (and
 * writes JSON, default artifacts/bench.json). `--capacity` (or `--scenario capacity`) ramps raw Media
 * Streams sockets at one media worker, then the bare relay (`--no-limit`: media alone). Targets are goals, reported next to the numbers, never asserted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { cpus, loadavg } from "node:os";
import { runScenario, type ScenarioName, type ScenarioReport } from "./scenario";
import { runCapacity, type CapacityReport } from "./capacity";
import { markdown, table, type Row } from "./stats";
import { noiseMarkdown } from "./noise-report";
import { DRIVER_NICE } from "./driver-pool";
import { goalLines, goals, ratioTable, type Goal } from "./goals";

export interface BenchOptions {
  /** Concurrent calls; several (`--calls 10,100`) run one after the other on the same stack. */
  calls: number[];
  durationS: number;
  scenarios: ScenarioName[];
  capacity: boolean;
  /** Capacity: streams added per step, max streams, seconds per step. */
  capacityStep: number;
  capacityMax: number;
  capacityStepS: number;
  pin: boolean;
  profileDir?: string;
  gcTrace?: boolean;
  mediaReplicas: number;
  staggerMs: number;
  /** Extra media environment (`--media-env KEY=VALUE`, repeatable): measure a barge-in or speech setting. */
  mediaEnv: Record<string, string>;
  /** Network between the stack and the simulated Twilio: round trip, and jitter ± each way (ms). */
  rttMs: number;
  jitterMs: number;
  /** Driver worker threads; default the core count. */
  workers?: number;
  noLimit: boolean;
  json: string;
  quiet: boolean;
}

export interface BenchReport {
  at: string;
  machine: { cpus: number; model: string; loadavg: number[]; node: string };
  options: Omit<BenchOptions, "quiet">;
  scenarios: ScenarioReport[];
  capacity?: CapacityReport;
  goals: Goal[];
  table: string;
  markdown: string;
}

export function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    calls: [100],
    noLimit: false,
    durationS: 20,
    scenarios: ["instant", "offline"],
    capacity: false,
    capacityStep: 25,
    capacityMax: 1000,
    capacityStepS: 4,
    pin: true,
    mediaReplicas: 1,
    staggerMs: 50,
    mediaEnv: {},
    rttMs: 0,
    jitterMs: 0,
    json: "artifacts/bench.json",
    quiet: false,
  };
  let scenarioSet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    const num = () => {
      const n = Number(val());
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} needs a number`);
      return n;
    };
    if (a === "--calls") {
      o.calls = val()
        .split(",")
        .map((x) => Math.floor(Number(x)));
      if (o.calls.some((n) => !Number.isFinite(n) || n < 1)) throw new Error(`--calls needs numbers ≥ 1 (e.g. 10,100)`);
    } else if (a === "--workers") o.workers = Math.max(1, Math.floor(num()));
    else if (a === "--no-limit") o.noLimit = true;
    else if (a === "--duration") o.durationS = num();
    else if (a === "--json") o.json = val();
    else if (a === "--media") o.mediaReplicas = Math.max(1, Math.floor(num()));
    else if (a === "--stagger") o.staggerMs = num();
    else if (a === "--media-env") {
      const kv = val();
      const eq = kv.indexOf("=");
      if (eq < 1) throw new Error(`--media-env needs KEY=VALUE (got ${kv})`);
      o.mediaEnv[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a === "--rtt") o.rttMs = num();
    else if (a === "--jitter") o.jitterMs = num();
    else if (a === "--capacity") o.capacity = true;
    else if (a === "--capacity-step") o.capacityStep = Math.max(1, Math.floor(num()));
    else if (a === "--capacity-max") o.capacityMax = Math.max(1, Math.floor(num()));
    else if (a === "--capacity-step-s") o.capacityStepS = num();
    else if (a === "--no-pin") o.pin = false;
    else if (a === "--profile") o.profileDir = resolve(val());
    else if (a === "--gc-trace") o.gcTrace = true;
    else if (a === "--quiet") o.quiet = true;
    else if (a === "--scenario") {
      const s = val();
      scenarioSet = true;
      if (s === "all") {
        o.scenarios = ["instant", "offline"];
        o.capacity = true;
      } else if (s === "instant" || s === "offline") o.scenarios = [s];
      else if (s === "capacity") o.scenarios = [];
      else throw new Error(`--scenario must be instant, offline, capacity or all (got ${s})`);
      if (s === "capacity") o.capacity = true;
    } else throw new Error(`unknown argument ${a}`);
  }
  if (o.capacity && !scenarioSet) o.scenarios = [];
  return o;
}

const TARGETS = { greeting: "p50 ≤ 20, p99 ≤ 50", overhead: "p50 ≤ 15, p99 ≤ 40", bargeIn: "p99 ≤ 60" };

/** Table rows of a report (every scenario, then capacity). */
export function rows(r: Pick<BenchReport, "scenarios" | "capacity">): Row[] {
  const out: Row[] = [];
  for (const s of r.scenarios) {
    const p = `[${s.scenario} ${s.calls.requested}] `;
    out.push({
      metric: `${p}greeting: start → first frame heard`,
      d: s.greetingMs,
      unit: "ms",
      target: TARGETS.greeting,
    });
    out.push({ metric: `${p}greeting: start → first frame sent (media)`, d: s.greetingSentMs, unit: "ms" });
    out.push({ metric: `${p}  of which start → stream.started (media checks)`, d: s.greetingStartMs, unit: "ms" });
    out.push({ metric: `${p}  of which stream.started → first frame heard`, d: s.greetingDeliverMs, unit: "ms" });
    out.push({
      metric: `${p}    hop: stream.started → agent's say on the bus (agent, 2 NATS hops)`,
      d: s.hops.agentMs,
      unit: "ms",
    });
    out.push({
      metric: `${p}    hop: say → first audio chunk on the bus (tts cache, NATS)`,
      d: s.hops.ttsMs,
      unit: "ms",
    });
    out.push({
      metric: `${p}    hop: audio chunk → first frame sent (NATS, media playout)`,
      d: s.hops.playoutMs,
      unit: "ms",
    });
    out.push({ metric: `${p}    hop: sent → heard (Caddy, network, driver)`, d: s.hops.wireMs, unit: "ms" });
    out.push({
      metric: `${p}overhead: final → first reply frame heard`,
      d: s.overheadMs,
      unit: "ms",
      target: TARGETS.overhead,
    });
    out.push({ metric: `${p}overhead: final → first reply frame sent (media)`, d: s.overheadSentMs, unit: "ms" });
    const rh = s.hops.reply;
    out.push({
      metric: `${p}    hop: final → agent's say on the bus (agent, LLM, 2 NATS hops)`,
      d: rh.agentMs,
      unit: "ms",
    });
    out.push({ metric: `${p}    hop: say → first audio chunk on the bus (tts, NATS)`, d: rh.ttsMs, unit: "ms" });
    out.push({
      metric: `${p}    hop: audio chunk → first frame sent (NATS, media playout)`,
      d: rh.playoutMs,
      unit: "ms",
    });
    out.push({ metric: `${p}voice-to-voice: end of speech → reply heard`, d: s.voiceToVoiceMs, unit: "ms" });
    out.push({ metric: `${p}barge-in: voice onset → clear`, d: s.bargeInMs, unit: "ms" });
    out.push({
      metric: `${p}barge-in: onset → clear − 180 ms policy hold`,
      d: s.bargeInOverheadMs,
      unit: "ms",
      target: TARGETS.bargeIn,
    });
    out.push({ metric: `${p}barge-in: speech.started → clear`, d: s.bargeInAfterVadMs, unit: "ms" });
    out.push({ metric: `${p}underrun gap lengths`, d: s.underrunMs, unit: "ms" });
    out.push({
      metric: `${p}played position: |interrupted.playedMs − heard|`,
      d: s.playedErrorMs,
      unit: "ms",
      target: "≤ 100",
    });
    out.push({ metric: `${p}played position: error media reported`, d: s.reportedErrorMs, unit: "ms" });
  }
  return out;
}

function summary(r: Pick<BenchReport, "scenarios" | "capacity">): string {
  const lines: string[] = [];
  for (const s of r.scenarios) {
    lines.push(ratioTable(s));
    lines.push(
      `[${s.scenario}] greetings played by media from the pre-render (no agent or tts hop): ${s.hops.preRendered} of ${s.hops.greetings}`,
    );
    lines.push(
      `[${s.scenario}] network: RTT ${s.network.rttMs} ms, jitter ±${s.network.jitterMs} ms each way; media PLAYOUT_LEAD_MS ${s.network.leadMs}`,
    );
    lines.push(
      `[${s.scenario}] calls ok ${s.calls.ok}/${s.calls.requested}${s.calls.endedByAgent ? ` (${s.calls.endedByAgent} ended early by the agent)` : ""}${s.calls.errors.length ? ` (errors: ${s.calls.errors.join("; ")})` : ""}, heard ${s.heardSeconds} s of agent audio, underruns/call ${s.underrunsPerCall.toFixed(2)}`,
    );
    if (s.falseInterruptionsPerCall !== null)
      lines.push(
        `[${s.scenario}] false interruptions/call ${s.falseInterruptionsPerCall.toFixed(2)} (${s.noisesPerCall?.toFixed(1)} noises/backchannels over agent speech per call: ${((s.interruptionsPerNoise ?? 0) * 100).toFixed(0)}% paused it, ${((s.resumedShare ?? 0) * 100).toFixed(0)}% of those resumed)`,
      );
    if (s.noises) lines.push(noiseMarkdown(s.noises));
    const cores = (m: Record<string, number>, lag: Record<string, number> = {}) =>
      Object.entries(m)
        .map(([k, v]) => `${k} ${v}${lag[k] !== undefined ? ` (loop lag p99 ${lag[k]} ms)` : ""}`)
        .join(", ");
    const lim = s.limit;
    lines.push(
      `[${s.scenario}] driver (simulated Twilio, ${s.driver.workers} worker threads${s.driver.niced ? `, nice ${DRIVER_NICE}` : ", default priority: not permitted to raise it"}): event-loop lag p99 ${s.driver.lagP99Ms} ms (max ${s.driver.lagMaxMs}; worst thread), loop busy ${s.driver.utilization.join(", ")}, ${s.driver.cpuCores} cores, main thread (event watch) lag p99 ${s.driver.mainLagP99Ms} ms, vendor fakes' thread ${s.driver.vendorLagP99Ms} ms${lim ? `; limit run: lag p99 ${lim.driver.lagP99Ms} ms, main ${lim.driver.mainLagP99Ms} ms, vendors ${lim.driver.vendorLagP99Ms} ms, loop busy ${lim.driver.utilization.join(", ")}, ${lim.driver.cpuCores} cores, calls ok ${lim.calls.ok}/${lim.calls.requested}${lim.calls.errors.length ? ` (errors: ${lim.calls.errors.join("; ")})` : ""}` : ""}`,
      `[${s.scenario}] cores: ours' run ${cores(s.serviceCpuCores, s.serviceLagP99Ms)}${lim ? `; limit's run ${cores(lim.serviceCpuCores)}` : ""}`,
    );
    const perCore = Object.entries(s.serviceCpuCores).map(
      ([k, c]) => `${k} ${c > 0 ? Math.round(s.calls.requested / c) : "∞"}`,
    );
    lines.push(`[${s.scenario}] calls per core (calls ÷ mean cores over the calls): ${perCore.join(", ")}`);
    lines.push(
      `[${s.scenario}] per call-second: Redis ${s.wire.redisOpsPerCallS} commands (${Object.entries(
        s.wire.redisOpsPerCallSByCommand,
      )
        .slice(0, 8)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}), NATS ${s.wire.natsMsgsPerCallS} messages (${Object.entries(s.wire.natsMsgsPerCallSBySubject)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}), ${s.wire.natsBytesPerCallS} B`,
    );
    if (s.media)
      lines.push(
        `[${s.scenario}] media: peak ${s.media.peakCpuCores} cores, ${s.media.cpuPerCallMs} CPU-ms/call, RSS ${s.media.rssIdleMB} → ${s.media.rssPeakMB} MB (${s.media.rssPerCallKB} KB/call; target ≤ 200)`,
      );
    lines.push(
      `[${s.scenario}] providers: ${Object.entries(s.providers)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")}`,
    );
  }
  const c = r.capacity;
  if (c) {
    lines.push(
      `[capacity] one media worker: ${c.maxStreamsWithinLag} streams with event-loop lag p99 ≤ ${c.lagLimitMs} ms (target ≥ 500); stopped at ${c.stoppedAt} (${c.stopReason})`,
    );
    lines.push(
      `[capacity] per stream: ${c.cpuPerStreamPct}% of a core, RSS ${c.rssMarginalKB ?? "-"} KB per added stream (slope over the steps; target ≤ 150), ${c.rssPerStreamKB} KB incl. the worker's one-off growth`,
    );
    if (c.relay)
      lines.push(
        `[capacity] bare relay (bench/limit/relay.ts): ${c.relay.streamsPerCore} streams per core (${c.relay.stopReason}), ${c.relay.cpuPerStreamPct}% of a core, ${c.relay.rssMarginalKB ?? "-"} KB per added stream (${c.relay.rssPerStreamKB} incl. one-off growth); ours ÷ relay ${c.relay.streamsPerCore ? Math.round((c.streamsPerCore / c.relay.streamsPerCore) * 100) / 100 : "-"}`,
      );
    lines.push(
      [
        "[capacity] streams  lag-p99-ms  cpu-cores  rss-MB",
        ...c.steps.map(
          (s) =>
            `           ${String(s.streams).padStart(7)}  ${String(s.lagP99Ms).padStart(10)}  ${String(s.cpuCores).padStart(9)}  ${String(s.rssMB).padStart(6)}`,
        ),
      ].join("\n"),
    );
  }
  return lines.join("\n");
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.quiet ? () => undefined : (l: string) => console.error(l);
  const load0 = loadavg().map((x) => Math.round(x * 100) / 100);
  const scenarios: ScenarioReport[] = [];
  for (const s of o.scenarios) {
    scenarios.push(
      ...(await runScenario({
        scenario: s,
        calls: o.calls,
        durationS: o.durationS,
        mediaReplicas: o.mediaReplicas,
        staggerMs: o.staggerMs,
        mediaEnv: o.mediaEnv,
        rttMs: o.rttMs,
        jitterMs: o.jitterMs,
        workers: o.workers,
        noLimit: o.noLimit,
        profileDir: o.profileDir,
        log,
      })),
    );
  }
  const capacity = o.capacity
    ? await runCapacity({
        step: o.capacityStep,
        max: o.capacityMax,
        stepS: o.capacityStepS,
        lagLimitMs: 20,
        pin: o.pin,
        profileDir: o.profileDir,
        gcTrace: o.gcTrace,
        mediaEnv: o.mediaEnv,
        relay: !o.noLimit,
        log,
      })
    : undefined;
  const body = { scenarios, capacity };
  const rs = rows(body);
  const gs = goals(scenarios, capacity);
  const goalText = gs.length
    ? `\n\nGoals (issue #20; ratios against the limit measured in this run):\n${goalLines(gs)}`
    : "";
  const { quiet: _q, ...options } = o;
  const report: BenchReport = {
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? "?",
      loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
      node: process.version,
    },
    options,
    ...body,
    goals: gs,
    table: `machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, node ${process.version}; load average at start ${load0.join(" ")}, at end ${loadavg()
      .map((x) => Math.round(x * 100) / 100)
      .join(" ")}\n\n${table(rs)}\n\n${summary(body)}${goalText}`,
    markdown: `${markdown(rs)}\n\n${summary(body)
      .split("\n")
      .map((l) => `    ${l}`)
      .join("\n")}${goalText}`,
  };
  const out = resolve(o.json);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 2));
  return report;
}

if (process.argv[1] && /bench[/\\]run\.ts$/.test(process.argv[1])) {
  const o = parseArgs(process.argv.slice(2));
  runBench(o)
    .then((r) => {
      console.log(r.table);
      console.log(`\nJSON: ${resolve(o.json)}`);
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
