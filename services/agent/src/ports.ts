import type { Bus } from "@voicecall/bus";
import { CallEvent, subjects } from "@voicecall/contracts";
import type { CallStore } from "@voicecall/store";

/** What a conversation reads and writes of its call in the store; CallStore (Redis) and test fakes. */
export type CallStorePort = Pick<
  CallStore,
  "getCall" | "transcript" | "leaseOwner" | "update" | "appendTranscript" | "appendEvent" | "nextGeneration"
>;

/** Where the outbox publishes: the bus, or a recorder in tests (both check each message's schema). */
export type Publisher = Pick<Bus, "publish">;

/**
 * The call's events, in order: `onEvent` is awaited before the next event is given. Resolves once the
 * subscription is live (so nothing published after it is missed); the function it gives unsubscribes.
 */
export type EventSource = (onEvent: (e: CallEvent) => Promise<void>) => Promise<() => void>;

/** The call's events from the bus (`vc.call.<id>.evt`). */
export function busEvents(bus: Bus, callId: string): EventSource {
  return async (onEvent) => {
    const sub = bus.subscribe(subjects.evt(callId), CallEvent, onEvent);
    await bus.flush();
    return () => sub.unsubscribe();
  };
}
