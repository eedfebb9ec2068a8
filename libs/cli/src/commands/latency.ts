import type { Ctx } from "../context";
import { percentile, table } from "../format";

const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseSince(s: string): number {
  const m = /^(\d+)([smhd])$/.exec(s);
  if (!m) throw new Error(`--since must look like 30m, 1h or 2d (got ${s})`);
  return Number(m[1]) * units[m[2]!]!;
}

/** `voicecall latency [--since 1h]`: per-turn latencies recorded by the media workers. */
export async function latencyCommand(
  ctx: Ctx,
  _args: string[],
  flags: Record<string, string | boolean>,
): Promise<number> {
  const windowMs = parseSince((flags.since as string) ?? "1h");
  const turns = await (await ctx.store()).turns(Date.now() - windowMs);
  const rows = (["greeting", "reply"] as const).map((kind) => {
    const v = turns.filter((t) => t.kind === kind).map((t) => t.latencyMs);
    const f = (p: number) => (v.length ? Math.round(percentile(v, p)!) : undefined);
    return {
      turn: kind === "reply" ? "caller end → reply audio" : "stream start → greeting audio",
      n: v.length,
      p50: f(50),
      p95: f(95),
      p99: f(99),
      max: f(100),
    };
  });
  ctx.out(flags.json ? JSON.stringify(rows) : table(rows, ["turn", "n", "p50", "p95", "p99", "max"]) + "\n(ms)");
  return 0;
}
