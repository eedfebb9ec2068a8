import type { CallResult, NoiseOutcome } from "./calls";
import { dist, type Dist } from "./stats";

/** Per-noise outcomes over agent speech, and the issue's goals as numbers. */
export interface NoiseRow {
  name: string;
  /** Times it was played over agent speech. */
  n: number;
  paused: number;
  /** Paused and never resumed, or it took the turn: the utterance was ended by a non-turn. */
  ended: number;
  resumedWithin300: number;
  tookTurn: number;
  /** Noise end → `resumed`, of the resumed ones. */
  resumeAfterEndMs: Dist;
}

export interface NoiseReport {
  rows: NoiseRow[];
  total: NoiseRow;
  /** Calls the agent ended while the noise rounds ran (a noise heard as "goodbye"). */
  callsEndedByNoise: number;
  bargeIns: number;
  bargeInsCut: number;
}

const ended = (x: NoiseOutcome) => (x.paused && !x.resumed) || x.tookTurn;

function row(name: string, xs: NoiseOutcome[]): NoiseRow {
  const resumed = xs.filter((x) => x.resumed && x.resumedAfterEndMs !== undefined).map((x) => x.resumedAfterEndMs!);
  return {
    name,
    n: xs.length,
    paused: xs.filter((x) => x.paused).length,
    ended: xs.filter(ended).length,
    resumedWithin300: resumed.filter((ms) => ms <= 300).length,
    tookTurn: xs.filter((x) => x.tookTurn).length,
    resumeAfterEndMs: dist(resumed),
  };
}

export function noiseReport(results: CallResult[]): NoiseReport {
  const all = results.flatMap((r) => r.perNoise);
  const names = [...new Set(all.map((x) => x.name))];
  return {
    rows: names.map((n) => row(n, all.filter((x) => x.name === n))),
    total: row("all", all),
    callsEndedByNoise: results.filter((r) => r.endedByAgent && r.endedAfterNoise !== undefined).length,
    bargeIns: results.reduce((a, r) => a + r.bargeIns, 0),
    bargeInsCut: results.reduce((a, r) => a + r.bargeInsCut, 0),
  };
}

const pct = (a: number, b: number) => (b ? `${Math.round((a / b) * 1000) / 10} %` : "-");

/** A markdown table of the per-noise outcomes plus the goal lines. */
export function noiseMarkdown(r: NoiseReport): string {
  const out = [
    "| noise over agent speech | n | paused | ended the utterance (goal 0) | took the turn | resumed ≤ 300 ms after it ended | noise end → resumed p50 / p95 (ms) |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const x of [...r.rows, r.total]) {
    const res = x.resumeAfterEndMs;
    out.push(`| ${x.name === "all" ? "**all**" : x.name} | ${x.n} | ${pct(x.paused, x.n)} | ${pct(x.ended, x.n)} | ${pct(x.tookTurn, x.n)} | ${x.paused ? pct(x.resumedWithin300, x.paused) : "-"} | ${res.n ? `${res.p50} / ${res.p95}` : "-"} |`);
  }
  out.push("");
  out.push(`utterances ended by a non-turn: ${pct(r.total.ended, r.total.n)} (goal < 2 %); calls ended by a noise: ${r.callsEndedByNoise} (goal 0); real barge-ins cut: ${r.bargeInsCut}/${r.bargeIns} (goal 100 %)`);
  return out.join("\n");
}
