import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACT = join(ROOT, "artifacts", "chaos.json");

/** How many concurrent calls: CHAOS_CALLS (`npm run test:chaos` sets 20); 3 in the short form of `npm test`. */
export function chaosCalls(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.CHAOS_CALLS ?? "3");
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new Error(`CHAOS_CALLS must be an integer 1..100, got ${env.CHAOS_CALLS}`);
  return n;
}

/** Fuzzed Media Streams frames: CHAOS_FUZZ_FRAMES, default 100 000 in the full form and 3 000 in the short one. */
export function fuzzFrames(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.CHAOS_FUZZ_FRAMES ?? (chaosCalls(env) >= 20 ? 100_000 : 3_000));
}

export interface FaultRow {
  fault: string;
  /** How long the fault action took (kill + restart + ready), ms. */
  faultMs: number;
  calls: number;
  /** Calls hearing a reply when the fault struck (0: no reply came within 20 s, the turn was not in flight). */
  playingAtFault: number;
  /** Calls whose turn in flight when the fault hit was answered. */
  inFlightAnswered: number;
  /** Calls where a caller utterance after the fault got a reply (repeated once if needed). */
  continued: number;
  continuedFirstTry: number;
  /** Longest silence a caller heard between the end of an utterance and the end of its reply, ms. */
  longestGapMs: number;
  lostRecords: number;
  lostTimelineEntries: number;
  lostTranscriptLines: number;
  /** Calls the simulator saw end during the phase. */
  dropped: number;
}

/** Merge one section into artifacts/chaos.json (the faults and hostile files write their own parts). */
export function writeArtifact(section: string, data: unknown): void {
  mkdirSync(dirname(ARTIFACT), { recursive: true });
  let doc: Record<string, unknown> = {};
  try {
    doc = JSON.parse(readFileSync(ARTIFACT, "utf8")) as Record<string, unknown>;
  } catch {
    /* first writer */
  }
  doc[section] = { at: new Date().toISOString(), ...(data as object) };
  writeFileSync(ARTIFACT, JSON.stringify(doc, null, 2) + "\n");
}

export function printTable(title: string, rows: object[]): void {
  if (!rows.length) return;
  const cols = Object.keys(rows[0]!);
  const cells = rows.map((r) => cols.map((c) => String((r as Record<string, unknown>)[c] ?? "")));
  const w = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (xs: string[]) => xs.map((x, i) => x.padEnd(w[i]!)).join("  ");
  process.stdout.write(
    `\n${title}\n${line(cols)}\n${line(w.map((n) => "-".repeat(n)))}\n${cells.map(line).join("\n")}\n\n`,
  );
}
