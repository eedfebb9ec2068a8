import type { TranscriptEntry } from "@voicecall/contracts";
import type { Logger } from "@voicecall/log";
import type { Emit } from "../stream-events";
import type { ModelOutput, OutItem } from "./output";
import type { HistoryItem } from "./types";

/**
 * The call's transcript as the caller lived it: caller lines from the model's input transcription,
 * agent lines only once heard (or the heard share of a cut one). A store failure costs a line, never the call.
 */
export class TranscriptLines {
  constructor(
    private readonly append: (e: TranscriptEntry) => Promise<void>,
    private readonly out: ModelOutput,
    private readonly emit: Emit,
    private readonly log: Logger,
  ) {}

  caller(text: string, final = true): void {
    if (final) this.emit({ type: "transcript.final", text });
    void this.write({ role: "caller", text, ts: Date.now() });
  }

  system(text: string): void {
    void this.write({ role: "system", text, ts: Date.now() });
  }

  /** What the caller heard of an item, once its text is known and it is played or cut; each item once. */
  item(it: OutItem): void {
    const text = this.out.heardText(it);
    if (text === undefined || it.written) return;
    it.written = true;
    if (!text) return;
    const interrupted = it.state === "cut" ? true : undefined;
    this.emit({ type: "transcript.agent", utteranceId: it.id, text, interrupted });
    void this.write({ role: "agent", text, ts: Date.now(), utteranceId: it.id, interrupted });
  }

  private write(e: TranscriptEntry): Promise<void> {
    return this.append(e).catch((err: Error) => this.log.warn({ err: err.message }, "transcript line not written"));
  }
}

/** The call's transcript as the model's conversation: caller and agent lines, in order. */
export function toHistory(t: TranscriptEntry[]): HistoryItem[] {
  return t
    .filter((e) => e.role !== "system" && e.text.trim())
    .map((e) => ({ role: e.role === "caller" ? "user" : "assistant", text: e.text }));
}
