import type { Subscription } from "nats";
import type { Bus } from "@voicecall/bus";
import { LifecycleEvent, queues, subjects } from "@voicecall/contracts";
import type { DialogueScript } from "@voicecall/dialogue";
import { callLogger, type Logger } from "@voicecall/log";
import { every } from "@voicecall/runtime";
import type { CallStore } from "@voicecall/store";
import type { AgentConfig } from "./config";
import { Conversation } from "./conversation";
import type { LanguageModel } from "./llm/types";
import { Outbox } from "./outbox";
import { busEvents } from "./ports";

export interface ClaimsDeps {
  bus: Bus;
  store: CallStore;
  model: LanguageModel;
  script: DialogueScript;
  log: Logger;
  instanceId: string;
  config: Pick<
    AgentConfig,
    "AGENT_LEASE_MS" | "AGENT_SCAN_MS" | "SILENCE_REPROMPT_MS" | "VOICEMAIL_MESSAGE" | "ACTION_MARK_TIMEOUT_MS"
  > &
    Partial<Pick<AgentConfig, "SAY_RETRY_MS">>;
}

/**
 * Which calls this instance runs. A call is ours while we hold its `agent` lease (renewed every
 * third of its TTL). New calls arrive on the lifecycle subject (queue group: one instance each);
 * calls whose owner died are found by scanning the active set for calls with no lease.
 */
export class CallClaims {
  private readonly calls = new Map<string, Conversation>();
  private readonly claiming = new Set<string>();
  private stops: (() => void)[] = [];
  private sub?: Subscription;

  constructor(private readonly d: ClaimsDeps) {}

  get count(): number {
    return this.calls.size;
  }

  conversation(callId: string): Conversation | undefined {
    return this.calls.get(callId);
  }

  async start(): Promise<void> {
    this.sub = this.d.bus.subscribe(
      subjects.lifecycle,
      LifecycleEvent,
      async (e) => {
        if (e.type === "call.ended") return;
        // Open the model's connection while the phone rings.
        if (e.type === "call.created") void this.d.model.warmup?.();
        await this.claim(e.callId, e.type);
      },
      { queue: queues.agent },
    );
    await this.d.bus.flush();
    void this.watchReconnects();
    await this.scan();
    this.stops.push(every(this.d.config.AGENT_SCAN_MS, () => this.scan(), this.d.log));
    this.stops.push(every(Math.max(100, Math.floor(this.d.config.AGENT_LEASE_MS / 3)), () => this.renew(), this.d.log));
  }

  /** NATS came back: caller lines published while it was away were lost; each call looks for one. */
  private async watchReconnects(): Promise<void> {
    for await (const s of this.d.bus.nc.status()) {
      if (s.type !== "reconnect") continue;
      this.d.log.info({ calls: this.calls.size }, "nats reconnected, looking for unanswered caller lines");
      for (const conv of this.calls.values())
        void conv.recover().catch((err: Error) => this.d.log.warn({ err: err.message }, "recover failed"));
    }
  }

  /** Claim calls that are active but have no live agent (their owner died or never came). */
  async scan(): Promise<void> {
    for (const callId of await this.d.store.activeCallIds()) {
      if (this.calls.has(callId)) continue;
      if (await this.d.store.leaseOwner("agent", callId)) continue;
      await this.claim(callId, "scan");
    }
  }

  private async claim(callId: string, reason: string): Promise<void> {
    if (this.calls.has(callId) || this.claiming.has(callId)) return;
    this.claiming.add(callId);
    try {
      if (!(await this.d.store.acquireLease("agent", callId, this.d.instanceId, this.d.config.AGENT_LEASE_MS))) return;
      const log = callLogger(this.d.log, callId);
      const conv = new Conversation({
        callId,
        events: busEvents(this.d.bus, callId),
        out: new Outbox(this.d.bus, callId),
        store: this.d.store,
        model: this.d.model,
        script: this.d.script,
        log,
        config: this.d.config,
        onEnd: () => void this.release(callId),
      });
      this.calls.set(callId, conv);
      try {
        await this.d.store.update(callId, { agentOwner: this.d.instanceId });
        log.info({ reason, instance: this.d.instanceId }, "call claimed");
        await conv.start();
      } catch (err) {
        // Hand the call back at once; the next scan (here or elsewhere) tries again.
        log.error({ err: (err as Error).message }, "claim failed");
        await this.release(callId).catch(() => undefined);
      }
    } finally {
      this.claiming.delete(callId);
    }
  }

  private async renew(): Promise<void> {
    for (const [callId, conv] of this.calls) {
      if (await this.d.store.acquireLease("agent", callId, this.d.instanceId, this.d.config.AGENT_LEASE_MS)) continue;
      // Someone else owns it now: two agents must never talk on one call.
      this.d.log.warn({ callId }, "agent lease lost");
      conv.stop();
      this.calls.delete(callId);
    }
  }

  private async release(callId: string): Promise<void> {
    this.calls.get(callId)?.stop();
    this.calls.delete(callId);
    await this.d.store.releaseLease("agent", callId, this.d.instanceId);
  }

  /** Stop claiming; with `release`, hand every call back at once so another instance continues it. */
  async stop(release = true): Promise<void> {
    for (const s of this.stops) s();
    this.stops = [];
    this.sub?.unsubscribe();
    for (const [callId, conv] of [...this.calls]) {
      conv.stop();
      this.calls.delete(callId);
      if (release) await this.d.store.releaseLease("agent", callId, this.d.instanceId);
    }
  }
}
