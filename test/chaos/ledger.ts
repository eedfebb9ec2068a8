import type { CallStore } from "@voicecall/store";

/**
 * Everything the store held for the calls at one moment: each call record, its timeline and its
 * transcript. A later snapshot must contain all of an earlier one (nothing lost).
 */
export type Ledger = Map<string, { record: boolean; state?: string; timeline: string[]; transcript: string[] }>;

export async function snapshot(store: CallStore, callIds: readonly string[]): Promise<Ledger> {
  const out: Ledger = new Map();
  for (const id of callIds) {
    const [rec, timeline, transcript] = await Promise.all([
      store.getCall(id),
      store.timeline(id),
      store.transcript(id),
    ]);
    out.set(id, {
      record: !!rec,
      state: rec?.state,
      timeline: timeline.map((t) => `${t.state}@${t.ts}`),
      transcript: transcript.map((t) => `${t.role}@${t.ts}:${t.text}`),
    });
  }
  return out;
}

export interface Loss {
  records: number;
  timelineEntries: number;
  transcriptLines: number;
  details: string[];
}

/** What `before` had that `after` lacks. */
export function lost(before: Ledger, after: Ledger): Loss {
  const loss: Loss = { records: 0, timelineEntries: 0, transcriptLines: 0, details: [] };
  for (const [id, b] of before) {
    const a = after.get(id);
    if (b.record && !a?.record) {
      loss.records++;
      loss.details.push(`call ${id}: record gone`);
    }
    const tl = new Set(a?.timeline ?? []);
    for (const e of b.timeline)
      if (!tl.has(e)) (loss.timelineEntries++, loss.details.push(`call ${id}: timeline ${e} gone`));
    const tr = new Set(a?.transcript ?? []);
    for (const e of b.transcript)
      if (!tr.has(e)) (loss.transcriptLines++, loss.details.push(`call ${id}: transcript ${e} gone`));
  }
  return loss;
}
