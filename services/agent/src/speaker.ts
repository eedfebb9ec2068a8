import type { Purpose } from "@voicecall/contracts";
import type { Logger } from "@voicecall/log";
import { SpeechLedger } from "./ledger";
import type { Outbox } from "./outbox";
import { SayRetries } from "./say-retries";
import type { SaidLine } from "./turn";

export interface SpeakerDeps {
  out: Outbox;
  log: Logger;
  /** Whether a say whose audio never came is still worth sending again (following the call, stream live). */
  mayResend: () => boolean;
  /** Called as each utterance goes out (the agent speaks: no caller silence is counted). */
  onSpeak: () => void;
  retryMs?: number;
}

/** The agent's voice: each `say` goes out, into the ledger, and is re-sent if tts never answers it. */
export class Speaker {
  readonly ledger = new SpeechLedger();
  /** Says waiting for their first audio chunk from tts: re-sent if it does not come. */
  private readonly retries: SayRetries;

  constructor(private readonly d: SpeakerDeps) {
    this.retries = new SayRetries((u, gen, end) => this.resend(u, gen, end), d.retryMs);
  }

  say(id: string, text: string, purpose: Purpose, generation: number): SaidLine {
    const u: SaidLine = { id, text, purpose };
    this.speak(u, generation, true);
    return u;
  }

  speak(u: SaidLine, generation: number, endOfTurn: boolean): void {
    this.d.onSpeak();
    this.ledger.said(u);
    this.d.out.say(u.id, u.text, u.purpose, generation, endOfTurn);
    this.retries.sent(u, generation, endOfTurn);
  }

  /** tts (or media) answered `id`: no re-send. */
  arrived(id: string): void {
    this.retries.arrived(id);
  }

  /** The stream changed or went away: nothing said before is playing or worth re-sending. */
  streamChanged(): void {
    this.retries.clear();
    this.ledger.clear();
  }

  stop(): void {
    this.retries.clear();
  }

  /** No audio came for `u` (its say was lost, e.g. tts restarting): say it again unless it is moot. */
  private resend(u: SaidLine, generation: number, endOfTurn: boolean): boolean {
    if (!this.d.mayResend() || !this.ledger.isSpeaking(u.id)) return false;
    this.d.log.info({ utteranceId: u.id }, "no audio for say, sent again");
    this.d.out.say(u.id, u.text, u.purpose, generation, endOfTurn);
    return true;
  }
}
