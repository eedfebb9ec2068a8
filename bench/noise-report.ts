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
  /** What the recogniser heard, most frequent first ("text ×n"). */
  heardAs: string[];
}

export interface NoiseReport {
  rows: NoiseRow[];
  total: NoiseRow;
  /** Calls the agent ended early after a noise took a turn (a noise heard as "no thanks" or "goodbye"). */
  callsEndedByNoise: number;
  /** Calls the agent ended early, for whatever reason. */
  callsEndedEarly: number;
  bargeIns: number;
  bargeInsCut: number;
  bargeInsReplayed: number;
  /** Where the resumes' time went (media's `resumed` fields), over every resumed noise. */
  resumeTiming: ResumeTiming;
}

export interface ResumeTiming {
  /** Resumes by what decided them (early check, final, timer). */
  by: Record<string, number>;
  /** Stream ms of caller quiet when it resumed (the gap, plus a check answered after it). */
  quietMs: Dist;
  /** The early check's decode: wall ms asked → answered, in the decoder, waiting for it. */
  checkMs: Dist;
  decodeMs: Dist;
  queuedMs: Dist;
  /** Of the waiting, from asking to the decode's start (delivery, a decode running, the queue; the rest: the way back). */
  behindMs: Dist;
  /** Noise end → resumed, less the quiet: delivery of the audio to media, the sound's own quiet tail, the event. */
  restMs: Dist;
  /** Checks answered after the quiet gap was up (their decode made the resume late). */
  lateChecks: number;
  /** Each resume later than 300 ms after its noise ended, with where its time went (to see which part was late). */
  late: Array<{ name: string; afterEndMs: number } & NonNullable<NoiseOutcome["resume"]>>;
}

const ended = (x: NoiseOutcome) => (x.paused && !x.resumed) || x.tookTurn;

function tally(xs: string[]): string[] {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([t, n]) => `${t} ×${n}`);
}

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
    heardAs: tally(xs.flatMap((x) => x.heard)),
  };
}

function timing(xs: NoiseOutcome[]): ResumeTiming {
  const rs = xs.filter((x) => x.resumed && x.resume);
  const num = (f: (x: NoiseOutcome) => number | undefined) =>
    dist(rs.map(f).filter((v): v is number => typeof v === "number"));
  const by: Record<string, number> = {};
  for (const x of rs) by[x.resume!.by ?? "?"] = (by[x.resume!.by ?? "?"] ?? 0) + 1;
  return {
    by,
    quietMs: num((x) => x.resume!.quietMs),
    checkMs: num((x) => x.resume!.checkMs),
    decodeMs: num((x) => x.resume!.decodeMs),
    queuedMs: num((x) => x.resume!.queuedMs),
    behindMs: num((x) => x.resume!.behindMs),
    restMs: num((x) =>
      x.resumedAfterEndMs === undefined || x.resume!.quietMs === undefined
        ? undefined
        : x.resumedAfterEndMs - x.resume!.quietMs,
    ),
    // The check's answer held for the gap resumes at exactly the gap; later means the decode came after it.
    lateChecks: rs.filter((x) => x.resume!.by === "check" && (x.resume!.quietMs ?? 0) > 220).length,
    late: rs
      .filter((x) => (x.resumedAfterEndMs ?? 0) > 300)
      .map((x) => ({ name: x.name, afterEndMs: x.resumedAfterEndMs!, ...x.resume! })),
  };
}

export function noiseReport(results: CallResult[]): NoiseReport {
  const all = results.flatMap((r) => r.perNoise);
  const names = [...new Set(all.map((x) => x.name))];
  return {
    rows: names.map((n) =>
      row(
        n,
        all.filter((x) => x.name === n),
      ),
    ),
    total: row("all", all),
    callsEndedByNoise: results.filter((r) => r.endedByAgent && r.perNoise.some((x) => x.tookTurn)).length,
    callsEndedEarly: results.filter((r) => r.endedByAgent).length,
    bargeIns: results.reduce((a, r) => a + r.bargeIns, 0),
    bargeInsCut: results.reduce((a, r) => a + r.bargeInsCut, 0),
    bargeInsReplayed: results.reduce((a, r) => a + r.bargeInsReplayed, 0),
    resumeTiming: timing(all),
  };
}

const pct = (a: number, b: number) => (b ? `${Math.round((a / b) * 1000) / 10} %` : "-");

/** A markdown table of the per-noise outcomes plus the goal lines. */
export function noiseMarkdown(r: NoiseReport): string {
  const out = [
    "| noise over agent speech | n | paused | ended the utterance (goal 0) | took the turn | resumed ≤ 300 ms after it ended | noise end → resumed p50 / p95 (ms) | heard as |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const x of [...r.rows, r.total]) {
    const res = x.resumeAfterEndMs;
    out.push(
      `| ${x.name === "all" ? "**all**" : x.name} | ${x.n} | ${pct(x.paused, x.n)} | ${pct(x.ended, x.n)} | ${pct(x.tookTurn, x.n)} | ${x.paused ? pct(x.resumedWithin300, x.paused) : "-"} | ${res.n ? `${res.p50} / ${res.p95}` : "-"} | ${x.name === "all" ? "" : x.heardAs.join(", ")} |`,
    );
  }
  out.push("");
  out.push(
    `utterances ended by a non-turn: ${pct(r.total.ended, r.total.n)} (goal < 2 %); calls ended by a noise: ${r.callsEndedByNoise} of ${r.callsEndedEarly} ended early (goal 0); real barge-ins cut: ${r.bargeInsCut}/${r.bargeIns} (goal 100 %), cut reply replayed after one: ${r.bargeInsReplayed} (goal 0)`,
  );
  const t = r.resumeTiming;
  const d = (x: Dist) => (x.n ? `${x.p50} / ${x.p95}` : "-");
  out.push(
    `resumes by ${
      Object.entries(t.by)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ") || "-"
    }; p50 / p95 ms: caller quiet (stream) ${d(t.quietMs)}, noise end → resumed less that quiet ${d(t.restMs)}; early check asked → answered ${d(t.checkMs)} (decoder ${d(t.decodeMs)}, waiting ${d(t.queuedMs)}, of it before the decode started ${d(t.behindMs)}); checks answered after the gap: ${t.lateChecks}`,
  );
  if (t.late.length)
    out.push(
      `resumed later than 300 ms (ms): ${t.late
        .map(
          (x) =>
            `${x.name} ${x.afterEndMs} by ${x.by} (quiet ${x.quietMs}, check ${x.checkMs ?? "-"} = decoder ${x.decodeMs ?? "-"} + waiting ${x.queuedMs ?? "-"}, to its start ${x.behindMs ?? "-"}, ${x.behindJobs ?? "-"} decodes ahead)`,
        )
        .join("; ")}`,
    );
  return out.join("\n");
}
