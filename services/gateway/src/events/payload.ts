import type { WebhookEvent } from "@voicecall/contracts";
import type { CallStore, OutboxItem } from "@voicecall/store";
import { endOfCallReport } from "./report";

/** Event id receivers see: stable across retries and restarts (the outbox entry's place). */
export const eventId = (callId: string, item: OutboxItem): string => `${callId}:${item.id}`;

/**
 * The body for one outbox entry. `call.ended` carries the end-of-call report, built from Redis at
 * delivery (the call's data is complete by then and kept for CALL_RETENTION_MS).
 */
export async function webhookEvent(store: CallStore, callId: string, item: OutboxItem): Promise<WebhookEvent> {
  let data = JSON.parse(item.entry.data) as Record<string, unknown>;
  if (item.entry.type === "call.ended") {
    const [rec, transcript, turns] = await Promise.all([
      store.getCall(callId),
      store.transcript(callId),
      store.callTurns(callId),
    ]);
    if (rec) data = { ...endOfCallReport(rec, transcript, turns), state: data.state ?? rec.state };
  }
  return { id: eventId(callId, item), type: item.entry.type, callId, ts: item.entry.ts, data };
}
