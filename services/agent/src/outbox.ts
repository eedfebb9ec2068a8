import { CallEvent, CommandMessage, ControlMessage, SayMessage, subjects, type Purpose } from "@voicecall/contracts";
import type { Publisher } from "./ports";

/** Everything the agent publishes about one call, spelled once. Control never waits behind audio. */
export class Outbox {
  constructor(
    private readonly bus: Publisher,
    private readonly callId: string,
  ) {}

  say(utteranceId: string, text: string, purpose: Purpose, generation: number, endOfTurn = true): void {
    this.bus.publish(subjects.say(this.callId), SayMessage, {
      type: "say",
      callId: this.callId,
      ts: Date.now(),
      utteranceId,
      text,
      purpose,
      generation,
      endOfTurn,
    });
  }

  /** Drop everything older than `generation`: queued audio in media and pending synthesis in tts. */
  cancelBefore(generation: number): void {
    const base = { callId: this.callId, ts: Date.now(), beforeGeneration: generation };
    this.bus.publish(subjects.ctl(this.callId), ControlMessage, { type: "cancel", ...base });
    this.bus.publish(subjects.say(this.callId), SayMessage, { type: "say.cancel", ...base });
  }

  /** For ops: a turn's first sentence went to tts `latencyMs` after the caller's input arrived. */
  turnStarted(turnId: number, latencyMs: number): void {
    this.bus.publish(subjects.evt(this.callId), CallEvent, {
      type: "agent.turn",
      callId: this.callId,
      ts: Date.now(),
      turnId,
      latencyMs,
    });
  }

  sendDigits(digits: string): void {
    this.bus.publish(subjects.ctl(this.callId), ControlMessage, {
      type: "send-digits",
      callId: this.callId,
      ts: Date.now(),
      digits,
    });
  }

  hangup(reason: string): void {
    this.bus.publish(subjects.cmd(this.callId), CommandMessage, {
      type: "hangup",
      callId: this.callId,
      ts: Date.now(),
      reason,
    });
  }

  transfer(to: string): void {
    this.bus.publish(subjects.cmd(this.callId), CommandMessage, {
      type: "transfer",
      callId: this.callId,
      ts: Date.now(),
      to,
    });
  }
}
