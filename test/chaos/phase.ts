import { waitFor, type VoiceStack } from "@voicecall/testkit";
import type { CallDriver, TurnResult } from "./calls";
import { lost, snapshot, type Ledger } from "./ledger";
import type { FaultRow } from "./report";

/** Long reply (the fault hits while it plays) / short reply (the turn after the fault). */
export const LONG = "what are your opening hours";
export const SHORT = "yes please";
export const TURN_TIMEOUT_MS = 30_000;

const says = (c: CallDriver) => c.phone.events.filter((e) => e.type === "caller.say");

/** Audio heard since the caller last finished speaking. */
function heardSinceLastSay(c: CallDriver): number {
  const last = says(c).at(-1);
  if (!last) return 0;
  const end = (last.atMs as number) + ((last.ms as number) ?? 0);
  return c.phone.heard().segments.reduce((ms, s) => ms + Math.max(0, s.atMs + s.durationMs - Math.max(end, s.atMs)), 0);
}

/**
 * One phase: every live call says something with a long reply; once replies are playing the fault
 * runs (and its part comes back); then every call speaks again (repeating once if unanswered).
 * Returns the row of figures and the ledger at the end (for later "nothing lost since" checks).
 */
export async function runPhase(
  v: VoiceStack,
  calls: CallDriver[],
  name: string,
  fault: (() => Promise<void>) | undefined,
): Promise<{ row: FaultRow; ledger: Ledger }> {
  const ids = calls.map((c) => c.callId);
  const live = () => calls.filter((c) => c.phone.status === "in-progress");
  const before = await snapshot(v.store, ids);
  const liveBefore = live();
  const saysBefore = new Map(liveBefore.map((c) => [c, says(c).length]));
  const inFlight = liveBefore.map((c) => c.turn(LONG, TURN_TIMEOUT_MS));
  let faultMs = 0;
  let playingAtFault = 0;
  if (fault) {
    // Strike while replies are being heard (or after a while if none comes: then the row says so).
    const t0 = Date.now();
    const playing = (c: CallDriver) => says(c).length > saysBefore.get(c)! && heardSinceLastSay(c) > 300;
    await waitFor(() => liveBefore.some(playing) || Date.now() - t0 > 20_000, "a reply playing", 30_000, 50);
    playingAtFault = liveBefore.filter(playing).length;
    const f0 = Date.now();
    await fault();
    faultMs = Date.now() - f0;
  }
  const first = await Promise.all(inFlight);
  const after = await Promise.all(liveBefore.map((c) => c.turnWithRetry(SHORT, TURN_TIMEOUT_MS)));
  const ledger = await snapshot(v.store, ids);
  const loss = lost(before, ledger);
  if (loss.details.length) process.stdout.write(`chaos ${name}: lost\n  ${loss.details.join("\n  ")}\n`);
  const turns: TurnResult[] = [...first, ...after.flatMap((a) => a.results)];
  const row: FaultRow = {
    fault: name,
    faultMs,
    calls: liveBefore.length,
    playingAtFault,
    inFlightAnswered: first.filter((t) => t.answered).length,
    continued: after.filter((a) => a.answered).length,
    continuedFirstTry: after.filter((a) => a.results[0]!.answered).length,
    longestGapMs: Math.max(0, ...turns.map((t) => t.gapMs ?? 0)),
    lostRecords: loss.records,
    lostTimelineEntries: loss.timelineEntries,
    lostTranscriptLines: loss.transcriptLines,
    dropped: liveBefore.length - live().length,
  };
  return { row, ledger };
}
