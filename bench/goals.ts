/**
 * Issue #20's goals, judged on one bench invocation: every latency as ours ÷ the limit's (same driver,
 * Caddy, concurrency and run), growth as p99 at the most calls ÷ p99 at the fewest, capacity against the
 * bare relay. Absolute milliseconds move 2–10× between machines and loads; these ratios should not.
 */
import type { CapacityReport } from "./capacity";
import type { Measured, ScenarioReport } from "./scenario";
import type { Dist } from "./stats";

export interface Goal {
  name: string;
  goal: string;
  measured: string;
  pass: boolean | null;
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const ratio = (a: number | null, b: number | null) =>
  a === null || b === null ? null : b > 0 ? r2(a / b) : a > 0 ? Infinity : 1;

/** One latency line: ours, the limit's, and the ratio, at p50 and p99. */
export interface RatioRow {
  metric: string;
  ours: Dist;
  limit: Dist | null;
  p50: number | null;
  p99: number | null;
}

export function ratioRows(s: ScenarioReport): RatioRow[] {
  const l = s.limit;
  const row = (metric: string, f: (m: Measured) => Dist): RatioRow => ({
    metric,
    ours: f(s),
    limit: l ? f(l) : null,
    p50: l ? ratio(f(s).p50, f(l).p50) : null,
    p99: l ? ratio(f(s).p99, f(l).p99) : null,
  });
  return [
    row("greeting: start → first frame heard", (m) => m.greetingMs),
    row("  of which start → stream.started (checks)", (m) => m.greetingStartMs),
    row("reply overhead: final → first frame heard", (m) => m.overheadMs),
    row("voice-to-voice: end of speech → reply heard", (m) => m.voiceToVoiceMs),
    row("barge-in: onset → clear − policy hold", (m) => m.bargeInOverheadMs),
  ];
}

export function ratioTable(s: ScenarioReport): string {
  const c = (d: Dist | null) => (d ? `${d.p50 ?? "-"} / ${d.p99 ?? "-"}` : "-");
  const d = (a: number | null, b: number | null | undefined) =>
    a === null || b === null || b === undefined ? "-" : String(r2(a - b));
  const rows = ratioRows(s).map((r) => [
    r.metric,
    c(r.ours),
    c(r.limit),
    `${r.p50 ?? "-"} / ${r.p99 ?? "-"}`,
    `${d(r.ours.p50, r.limit?.p50)} / ${d(r.ours.p99, r.limit?.p99)}`,
  ]);
  const head = ["metric (ms, p50 / p99)", "ours", "limit", "ours ÷ limit", "ours − limit"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]) => cols.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join("  ");
  const under = `underruns/call ${s.underrunsPerCall.toFixed(2)} (limit ${s.limit?.underrunsPerCall.toFixed(2) ?? "-"}); driver lag p99 ${s.driver.lagP99Ms} ms (limit run ${s.limit?.driver.lagP99Ms ?? "-"})`;
  return [
    `[${s.scenario} ${s.calls.requested} calls, RTT ${s.network.rttMs} ms]`,
    line(head),
    w.map((x) => "-".repeat(x)).join("  "),
    ...rows.map(line),
    under,
  ].join("\n");
}

export function goals(scenarios: ScenarioReport[], capacity?: CapacityReport): Goal[] {
  const inst = scenarios.filter((s) => s.scenario === "instant");
  if (!inst.length) return [];
  const top = inst.reduce((a, s) => (s.calls.requested > a.calls.requested ? s : a));
  const low = inst.reduce((a, s) => (s.calls.requested < a.calls.requested ? s : a));
  const at = `at ${top.calls.requested} calls`;
  const out: Goal[] = [];
  const rr = ratioRows(top);
  const lat = (name: string, r: RatioRow) =>
    out.push({
      name: `${name} ${at}`,
      goal: "≤ 1.5× limit p50, ≤ 2× p99",
      measured: `${r.p50 ?? "-"}× / ${r.p99 ?? "-"}×`,
      pass: r.p50 === null || r.p99 === null ? null : r.p50 <= 1.5 && r.p99 <= 2,
    });
  lat("greeting first frame", rr[0]!);
  lat("reply overhead", rr[2]!);
  const b = rr[4]!;
  const dp99 = b.limit && b.ours.p99 !== null && b.limit.p99 !== null ? r2(b.ours.p99 - b.limit.p99) : null;
  const dp50 = b.limit && b.ours.p50 !== null && b.limit.p50 !== null ? r2(b.ours.p50 - b.limit.p50) : null;
  out.push({
    name: `barge-in onset → clear net of hold ${at}`,
    goal: "within one frame (20 ms) of the limit's",
    measured: `ours − limit: p50 ${dp50 ?? "-"} ms, p99 ${dp99 ?? "-"} ms`,
    pass: dp50 === null || dp99 === null ? null : dp50 <= 20 && dp99 <= 20,
  });
  if (top !== low) {
    const g = ratio(top.greetingMs.p99, low.greetingMs.p99);
    const o = ratio(top.overheadMs.p99, low.overheadMs.p99);
    out.push({
      name: `growth: p99 ${top.calls.requested} calls ÷ p99 ${low.calls.requested} calls`,
      goal: "≤ 2× (greeting and reply)",
      measured: `greeting ${g}×, reply ${o}×`,
      pass: g === null || o === null ? null : g <= 2 && o <= 2,
    });
  } else out.push({ name: "growth", goal: "≤ 2×", measured: "needs two call counts (--calls 10,100)", pass: null });
  const rel = capacity?.relay;
  out.push({
    name: "capacity: streams per core",
    goal: "≥ 0.5× the bare relay's",
    measured:
      capacity && rel
        ? `ours ${capacity.streamsPerCore} ÷ relay ${rel.streamsPerCore} = ${ratio(capacity.streamsPerCore, rel.streamsPerCore)}×`
        : "not run (--capacity)",
    pass: capacity && rel ? capacity.streamsPerCore >= 0.5 * rel.streamsPerCore : null,
  });
  const marginal = capacity?.rssMarginalKB;
  const kb = capacity ? (marginal ?? capacity.rssPerStreamKB) : top.media?.rssPerCallKB;
  out.push({
    name: "steady-state memory per stream",
    goal: "≤ 150 KB",
    measured:
      kb === undefined
        ? "-"
        : capacity
          ? marginal !== undefined
            ? `${marginal} KB (capacity ramp: RSS slope over its steps; ${capacity.rssPerStreamKB} KB at the largest step within the lag limit, incl. the worker's one-off growth)`
            : `${kb} KB (capacity ramp, incl. the worker's one-off growth: one step only)`
          : `${kb} KB (scenario peak − idle, incl. heap growth; --capacity measures the steady state)`,
    pass: kb === undefined ? null : kb <= 150,
  });
  out.push({
    name: `underruns ${at}, RTT ${top.network.rttMs} ms`,
    goal: "0",
    measured: `${top.underrunsPerCall.toFixed(2)} per call`,
    pass: top.underrunsPerCall === 0,
  });
  return out;
}

export const goalLines = (gs: Goal[]): string =>
  gs
    .map((g) => `${g.pass === null ? "N/A " : g.pass ? "PASS" : "FAIL"}  ${g.name}: ${g.measured} (goal ${g.goal})`)
    .join("\n");
