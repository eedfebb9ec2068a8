import type { Purpose } from "@voicecall/contracts";
import type { MustHear } from "./call-text";

/** What a must-hear message's first heard play leads to. */
export type HeardOutcome = { kind: MustHear["kind"]; text: string; hangup?: "notify-complete" | "voicemail-left" };

/**
 * The message the caller must hear before anything else happens (greeting, notify message, voicemail):
 * said on every new stream until a done mark shows one of its plays was heard. Recognised by the
 * purpose the ledger holds for the utterance, never by its id.
 */
export class MustHearState {
  constructor(
    private msg: MustHear | undefined,
    private played: boolean,
  ) {}

  get kind(): MustHear["kind"] | undefined {
    return this.msg?.kind;
  }

  get text(): string | undefined {
    return this.msg?.text;
  }

  /** Leaving a voicemail: the call ends once it was heard. */
  get voicemail(): boolean {
    return this.msg?.kind === "voicemail";
  }

  /** The message to say on a live stream now: set and not yet heard. */
  due(): MustHear | undefined {
    return this.msg && !this.played ? this.msg : undefined;
  }

  /** An answering machine: the voicemail replaces whatever was pending. False when it already did. */
  leaveVoicemail(text: string): boolean {
    if (this.voicemail) return false;
    this.msg = { kind: "voicemail", text };
    this.played = false;
    return true;
  }

  /** A done mark for an utterance said with `purpose`: the outcome when this is the message's first heard play. */
  heard(purpose: Purpose | undefined): HeardOutcome | undefined {
    const m = this.msg;
    if (!m || this.played || purpose !== m.kind) return undefined;
    this.played = true;
    if (m.kind === "notify") return { ...m, hangup: "notify-complete" };
    if (m.kind === "voicemail") return { ...m, hangup: "voicemail-left" };
    return { ...m };
  }

  /** True for a played utterance that is one of this message's plays (its transcript line is written once, on `heard`). */
  owns(purpose: Purpose): boolean {
    return purpose === this.msg?.kind;
  }
}
