import type { Bus } from "@voicecall/bus";
import type { Logger } from "@voicecall/log";
import type { Metrics } from "@voicecall/runtime";
import type { CallStore } from "@voicecall/store";
import type { z } from "zod";
import { CallEvent, subjects } from "@voicecall/contracts";

/** A published event as written (the schema fills in its version). */
export type PublishedEvent = z.input<typeof CallEvent>;

/** The events a stream publishes: the contracts' members that carry a `streamSid`, without the envelope the stream fills in. */
type Streamed = Extract<CallEvent, { streamSid: string }>;
export type StreamEvent = Streamed extends infer E
  ? E extends Streamed
    ? Omit<E, "v" | "ts" | "callId" | "streamSid">
    : never
  : never;

/** Publish a stream event; `force` publishes after the stream left `live` (its `stream.stopped`). */
export type Emit = (e: StreamEvent, force?: boolean) => void;

export interface StreamEventsDeps {
  bus: Bus;
  store: CallStore;
  log: Logger;
  metrics?: Metrics;
  callId: string;
  streamSid: string;
  /** A caller final was published (kept for a re-send after a NATS reconnect). */
  onFinal?: (event: PublishedEvent) => void;
}

/** One admitted stream's events on `vc.call.<id>.evt`, with the counters and record writes that go with them. */
export function streamEvents(d: StreamEventsDeps): (e: StreamEvent) => void {
  const { bus, store, log, metrics, callId, streamSid, onFinal } = d;
  return (e) => {
    if (e.type === "interrupted") metrics?.bargeIns.inc({ kind: "real" });
    else if (e.type === "resumed") metrics?.bargeIns.inc({ kind: "false" });
    const ts = Date.now();
    // The newest final is kept on the call record too: an agent that missed the event (restart, NATS
    // down) finds it there. Not awaited: the agent compares timestamps, so the order does not matter.
    const event: PublishedEvent = { ts, callId, streamSid, ...e };
    if (e.type === "transcript.final" && !e.backchannel) {
      onFinal?.(event);
      void store
        .update(callId, { lastFinalTs: ts, lastFinalText: e.text })
        .catch((err: Error) => log.warn({ err: err.message }, "final not recorded"));
    }
    try {
      bus.publish(subjects.evt(callId), CallEvent, event);
    } catch (err) {
      log.error({ err: (err as Error).message, type: e.type }, "event not published");
    }
  };
}
