import { CallRecord, TranscriptEntry, type WebhookEventType } from "@voicecall/contracts";
import type { CallStorePort } from "../src/ports";

type LeaseKind = Parameters<CallStorePort["leaseOwner"]>[0];

/**
 * The call-store port in memory, for the conversation harness: the same records (parsed by the same
 * schemas) as CallStore keeps in Redis, and every write kept in order for tests to read.
 */
export class MemoryCallStore implements CallStorePort {
  readonly calls = new Map<string, CallRecord>();
  readonly transcripts = new Map<string, TranscriptEntry[]>();
  readonly events: { callId: string; type: WebhookEventType; data: unknown }[] = [];
  /** Every `update`, in order: what a conversation wrote to the call record. */
  readonly updates: { callId: string; fields: Partial<CallRecord> }[] = [];
  readonly leases = new Map<string, string>();

  /** A call as `CallStore.createCall` then `transition(…, "in-progress")` leave it. */
  addCall(c: Partial<CallRecord> & Pick<CallRecord, "callId" | "mode">): CallRecord {
    const now = Date.now();
    const rec = CallRecord.parse({
      direction: "outbound",
      from: "+14155550001",
      to: "+14155550002",
      state: "in-progress",
      createdAt: now,
      updatedAt: now,
      greetingPlayed: false,
      streamCount: 0,
      ...c,
    });
    this.calls.set(rec.callId, rec);
    return rec;
  }

  setLease(kind: LeaseKind, callId: string, owner: string | undefined): void {
    if (owner) this.leases.set(`${kind}:${callId}`, owner);
    else this.leases.delete(`${kind}:${callId}`);
  }

  async getCall(callId: string): Promise<CallRecord | null> {
    const c = this.calls.get(callId);
    return c ? { ...c } : null;
  }

  async update(callId: string, fields: Partial<Omit<CallRecord, "state" | "callId">>): Promise<void> {
    this.updates.push({ callId, fields });
    const c = this.calls.get(callId);
    if (c) this.calls.set(callId, CallRecord.parse({ ...c, ...fields, updatedAt: Date.now() }));
  }

  async nextGeneration(callId: string): Promise<number> {
    const c = this.calls.get(callId)!;
    const generation = (c.generation ?? 0) + 1;
    this.calls.set(callId, { ...c, generation });
    return generation;
  }

  async appendTranscript(
    callId: string,
    e: TranscriptEntry,
    fields?: Partial<Omit<CallRecord, "state" | "callId">>,
  ): Promise<string> {
    const list = this.transcripts.get(callId) ?? [];
    list.push(TranscriptEntry.parse(e));
    this.transcripts.set(callId, list);
    if (fields) await this.update(callId, fields);
    return String(list.length);
  }

  async appendEvent(callId: string, type: WebhookEventType, data: unknown): Promise<void> {
    this.events.push({ callId, type, data });
  }

  async transcript(callId: string): Promise<TranscriptEntry[]> {
    return [...(this.transcripts.get(callId) ?? [])];
  }

  async leaseOwner(kind: LeaseKind, callId: string): Promise<string | null> {
    return this.leases.get(`${kind}:${callId}`) ?? null;
  }
}
