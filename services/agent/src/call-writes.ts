import type { CallStorePort } from "./ports";

/** The conversation's writes to its call in the store, spelled once. */
export class CallWrites {
  constructor(
    private readonly store: CallStorePort,
    private readonly callId: string,
  ) {}

  async transcript(
    role: "caller" | "agent" | "system",
    text: string,
    utteranceId?: string,
    interrupted?: boolean,
  ): Promise<void> {
    await this.store.appendTranscript(this.callId, { role, text, ts: Date.now(), utteranceId, interrupted });
  }

  /**
   * The caller's line of a turn and, in the same write, that its final `finalTs` was handled: one Redis
   * round trip on the way to the model instead of two.
   */
  async callerTurn(text: string, finalTs: number | undefined): Promise<void> {
    const handled = finalTs !== undefined ? { handledFinalTs: finalTs } : undefined;
    await this.store.appendTranscript(this.callId, { role: "caller", text, ts: Date.now() }, handled);
  }

  /** Record that the caller final `finalTs` was handled, so a later owner does not answer it again. */
  async handled(finalTs: number | undefined): Promise<void> {
    if (finalTs !== undefined) await this.store.update(this.callId, { handledFinalTs: finalTs });
  }

  /** The greeting or notify message was heard (a later stream or owner does not say it again). */
  async greetingPlayed(): Promise<void> {
    await this.store.update(this.callId, { greetingPlayed: true });
  }

  /** The next turn's generation (shared by every owner the call has had). */
  nextGeneration(): Promise<number> {
    return this.store.nextGeneration(this.callId);
  }

  /** For the call's events: best effort, a lost record must not stop the tool. */
  toolCalled(name: string, args: Record<string, unknown>, warn: (err: Error) => void): void {
    void this.store.appendEvent(this.callId, "tool.called", { name, args }).catch(warn);
  }
}
