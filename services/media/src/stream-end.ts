import type { Bus } from "@voicecall/bus";
import type { Logger } from "@voicecall/log";
import type { CallStore } from "@voicecall/store";
import { CommandMessage, isTerminal, subjects } from "@voicecall/contracts";
import type { StreamIdentity } from "./admission";
import type { StreamEvent } from "./stream-events";

export type EndReason = "stop" | "closed" | "drain" | "error" | "replaced";

export interface StreamEndDeps {
  store: CallStore;
  bus: Bus;
  log: Logger;
  worker: string;
  /** Publishes even though the stream has left `live`. */
  emit: (e: StreamEvent) => void;
}

/** Tell the call a stream ended: its lease released, `stream.stopped`, and what the gateway does next. */
export async function reportStreamEnd(d: StreamEndDeps, id: StreamIdentity, why: EndReason): Promise<void> {
  const { callId, streamSid } = id;
  const call = await d.store.getCall(callId);
  // A stop or close of an old stream is ignored when the call already has a newer one.
  if (call && call.streamSid !== streamSid) return d.log.info("old stream ended, ignored");
  await d.store.releaseLease("stream", callId, id.owner);
  d.emit({ type: "stream.stopped", reason: why, worker: d.worker });
  // A browser phone has no Twilio behind it to <Redirect> and reconnect: its stream is the call.
  if (call?.channel === "web" && !isTerminal(call.state)) {
    d.bus.publish(subjects.cmd(callId), CommandMessage, {
      type: "hangup",
      callId,
      ts: Date.now(),
      reason: `browser stream ${why}`,
    });
  } else if (call && !isTerminal(call.state) && (why === "stop" || why === "closed")) {
    // Twilio's `stop` means the call ended (or its TwiML was replaced); an inbound call may have
    // no status callback to say so, so the gateway asks Twilio REST.
    d.bus.publish(subjects.cmd(callId), CommandMessage, {
      type: "reconcile",
      callId,
      ts: Date.now(),
      streamSid,
      reason: `stream ${why}`,
    });
  }
}
