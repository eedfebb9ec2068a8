import type { Bus } from "@voicecall/bus";
import { CommandMessage, SayMessage, subjects, type CallRecord } from "@voicecall/contracts";
import type { Logger } from "@voicecall/log";
import type { CallStore } from "@voicecall/store";
import type { Playout } from "../playout";
import type { Emit } from "../stream-events";
import { dtmfTones } from "../dtmf-tones";
import { RealtimeBridge } from "./bridge";
import type { RealtimeConfig } from "./config";
import type { RealtimeModel } from "./types";

export { realtimeConfigSchema, type RealtimeConfig } from "./config";
export { createRealtimeModel } from "./factory";
export type { RealtimeModel } from "./types";
export { RealtimeBridge } from "./bridge";
export type { BridgeOptions, BridgePorts, BridgeSettings } from "./bridge-options";

export interface RealtimeDeps {
  bus: Bus;
  store: CallStore;
  model: RealtimeModel;
  cfg: RealtimeConfig;
  bargeIn: boolean;
}

export interface StreamParts {
  call: CallRecord;
  playout: Playout;
  emit: Emit;
  onCallerFinal: () => void;
  log: Logger;
  signal: AbortSignal;
}

/** Opens a stream's bridge with its ports wired to the call's store records and bus subjects. */
export type RealtimeBridges = (p: StreamParts) => RealtimeBridge;

export function realtimeBridges(d: RealtimeDeps): RealtimeBridges {
  return ({ call, playout, emit, onCallerFinal, log, signal }) => {
    const { callId } = call;
    const ts = () => Date.now();
    return new RealtimeBridge({
      call,
      model: d.model,
      playout,
      emit,
      onCallerFinal,
      log,
      signal,
      settings: {
        instructions: instructionsOf(call) ?? d.cfg.REALTIME_INSTRUCTIONS,
        bargeIn: d.bargeIn,
        silenceRepromptMs: d.cfg.REALTIME_SILENCE_REPROMPT_MS,
        actionTimeoutMs: d.cfg.REALTIME_ACTION_TIMEOUT_MS,
        apology: d.cfg.REALTIME_APOLOGY,
      },
      ports: {
        transcript: () => d.store.transcript(callId),
        appendTranscript: async (e) => void (await d.store.appendTranscript(callId, e)),
        greetingPlayed: () => d.store.update(callId, { greetingPlayed: true }),
        hangup: (reason) =>
          d.bus.publish(subjects.cmd(callId), CommandMessage, { type: "hangup", callId, ts: ts(), reason }),
        transfer: (to) =>
          d.bus.publish(subjects.cmd(callId), CommandMessage, { type: "transfer", callId, ts: ts(), to }),
        sayLocal: (utteranceId, text, generation) =>
          d.bus.publish(subjects.say(callId), SayMessage, {
            type: "say",
            callId,
            ts: ts(),
            utteranceId,
            text,
            purpose: "operator",
            generation,
            endOfTurn: true,
          }),
        sendDigits: (digits) =>
          playout.pushWhole(`digits-${ts()}-${digits.replace(/[^0-9A-D]/g, "x")}`, dtmfTones(digits)),
      },
    });
  };
}

/** A call's own system prompt (`agent.systemPrompt` in `POST /api/calls`), as the pipeline's agent reads it. */
function instructionsOf(call: CallRecord): string | undefined {
  try {
    const o = call.agentOptions ? (JSON.parse(call.agentOptions) as { systemPrompt?: unknown }) : {};
    return typeof o.systemPrompt === "string" && o.systemPrompt ? o.systemPrompt : undefined;
  } catch {
    return undefined;
  }
}
