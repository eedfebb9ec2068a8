import type { CallRecord, TranscriptEntry } from "@voicecall/contracts";
import type { Logger } from "@voicecall/log";
import type { Playout } from "../playout";
import type { Emit } from "../stream-events";
import type { RealtimeModel } from "./types";

/** What the bridge does outside itself: the call's transcript, call control, and the local voice (tts). */
export interface BridgePorts {
  transcript(): Promise<TranscriptEntry[]>;
  appendTranscript(e: TranscriptEntry): Promise<void>;
  greetingPlayed(): Promise<void>;
  hangup(reason: string): void;
  transfer(to: string): void;
  /** Say `text` in the local voice (tts); its audio comes back on the call's audio subject. */
  sayLocal(utteranceId: string, text: string, generation: number): void;
  sendDigits(digits: string): void;
}

export interface BridgeSettings {
  instructions: string;
  bargeIn: boolean;
  silenceRepromptMs: number;
  actionTimeoutMs: number;
  apology: string;
}

export interface BridgeOptions {
  call: CallRecord;
  model: RealtimeModel;
  playout: Playout;
  emit: Emit;
  /** The caller's end of speech: the reply's latency counts from here (the session keeps the clock). */
  onCallerFinal: () => void;
  ports: BridgePorts;
  settings: BridgeSettings;
  log: Logger;
  signal: AbortSignal;
}
