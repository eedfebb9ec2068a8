import express, { type Express } from "express";
import type { Redis } from "ioredis";
import type { Bus } from "@voicecall/bus";
import type { DialogueScript } from "@voicecall/dialogue";
import type { Logger } from "@voicecall/log";
import { createMetrics, healthRouter, metricsRouter } from "@voicecall/runtime";
import type { CallStore } from "@voicecall/store";
import { CallClaims } from "./claims";
import type { AgentConfig } from "./config";
import type { LanguageModel } from "./llm/types";

export interface AgentDeps {
  config: Pick<
    AgentConfig,
    "AGENT_LEASE_MS" | "AGENT_SCAN_MS" | "SILENCE_REPROMPT_MS" | "VOICEMAIL_MESSAGE" | "ACTION_MARK_TIMEOUT_MS"
  > &
    Partial<Pick<AgentConfig, "SAY_RETRY_MS">>;
  bus: Bus;
  redis: Redis;
  store: CallStore;
  model: LanguageModel;
  script: DialogueScript;
  log: Logger;
  instanceId: string;
}

export interface AgentApp {
  http: Express;
  claims: CallClaims;
  /** Begin claiming calls. */
  start(): Promise<void>;
  /** Stop claiming; `release` (default) hands calls back at once instead of letting leases lapse. */
  stop(release?: boolean): Promise<void>;
}

/** Wire the agent from its dependencies; no process side effects until `start`. */
export function createApp(d: AgentDeps): AgentApp {
  let draining = false;
  const claims = new CallClaims(d);
  const http = express();
  http.use(healthRouter({ bus: d.bus, redis: d.redis, notReady: () => (draining ? "draining" : undefined) }));
  http.use(metricsRouter(createMetrics("agent", { activeCalls: () => claims.count })));
  return {
    http,
    claims,
    start: () => claims.start(),
    async stop(release = true) {
      draining = true;
      await claims.stop(release);
    },
  };
}
