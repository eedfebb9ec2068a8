/** Percentiles and the printed table of a bench run. */

export interface Dist {
  n: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Nearest-rank percentiles of `xs` (ms), rounded to 0.1. */
export function dist(xs: readonly number[]): Dist {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const r = (x: number | undefined) => (x === undefined ? null : Math.round(x * 10) / 10);
  const at = (p: number) => r(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]);
  return {
    n: s.length,
    p50: s.length ? at(50) : null,
    p95: s.length ? at(95) : null,
    p99: s.length ? at(99) : null,
    max: s.length ? r(s[s.length - 1]) : null,
    mean: s.length ? r(s.reduce((a, b) => a + b, 0) / s.length) : null,
  };
}

export interface Row {
  metric: string;
  d: Dist;
  target?: string;
  unit?: string;
}

const cell = (v: number | null) => (v === null ? "-" : String(v));

/** A fixed-width text table: metric, n, p50, p95, p99, max, target. */
export function table(rows: readonly Row[]): string {
  const head = ["metric", "n", "p50", "p95", "p99", "max", "target"];
  const body = rows.map((r) => [
    r.metric + (r.unit ? ` (${r.unit})` : ""),
    String(r.d.n),
    cell(r.d.p50),
    cell(r.d.p95),
    cell(r.d.p99),
    cell(r.d.max),
    r.target ?? "",
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  return [line(head), w.map((x) => "-".repeat(x)).join("  "), ...body.map(line)].join("\n");
}

/** A markdown version of the same table (docs/performance.md). */
export function markdown(rows: readonly Row[]): string {
  const out = ["| metric | n | p50 | p95 | p99 | max | target |", "|---|---:|---:|---:|---:|---:|---|"];
  for (const r of rows)
    out.push(
      `| ${r.metric}${r.unit ? ` (${r.unit})` : ""} | ${r.d.n} | ${cell(r.d.p50)} | ${cell(r.d.p95)} | ${cell(r.d.p99)} | ${cell(r.d.max)} | ${r.target ?? ""} |`,
    );
  return out.join("\n");
}
