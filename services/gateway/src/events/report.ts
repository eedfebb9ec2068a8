import type { CallRecord, EndOfCallReport, TranscriptEntry, TurnMetric } from "@voicecall/contracts";

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The end-of-call report, from the call's record, transcript and measured turns (pure). */
export function endOfCallReport(rec: CallRecord, transcript: TranscriptEntry[], turns: TurnMetric[]): EndOfCallReport {
  const replies = turns
    .filter((t) => t.kind === "reply")
    .map((t) => t.latencyMs)
    .sort((a, b) => a - b);
  const greeting = turns.find((t) => t.kind === "greeting");
  const end = rec.endedAt ?? rec.updatedAt;
  return {
    state: rec.state,
    endReason: rec.endReason,
    direction: rec.direction,
    mode: rec.mode,
    from: rec.from,
    to: rec.to,
    createdAt: rec.createdAt,
    answeredAt: rec.answeredAt,
    endedAt: rec.endedAt,
    durationMs: Math.max(0, end - rec.createdAt),
    talkMs: rec.answeredAt ? Math.max(0, end - rec.answeredAt) : 0,
    answeredBy: rec.answeredBy,
    transcript: transcript.map((t) => ({
      role: t.role,
      text: t.text,
      ts: t.ts,
      utteranceId: t.utteranceId,
      interrupted: t.interrupted,
    })),
    turnLatencyMs: replies.length
      ? {
          count: replies.length,
          p50: pct(replies, 50),
          p90: pct(replies, 90),
          p95: pct(replies, 95),
          max: replies.at(-1)!,
        }
      : null,
    greetingLatencyMs: greeting?.latencyMs,
    bargeIns: transcript.filter((t) => t.role === "agent" && t.interrupted).length,
    falseInterruptions: rec.falseInterruptions ?? 0,
  };
}
