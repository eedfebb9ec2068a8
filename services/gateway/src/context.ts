import type { Bus } from "@voicecall/bus";
import type { Logger } from "@voicecall/log";
import type { CallStore } from "@voicecall/store";
import type { CallLifecycle } from "./call-lifecycle";
import type { GatewayConfig } from "./config";
import type { TwilioCalls } from "./twilio-calls";
import type { publicUrls } from "./twiml";

/** Tunables that are not operator settings (tests shorten them). All durations in ms. */
export interface GatewayTuning {
  /** Lifetime of a stream token handed out in TwiML. Default 5 min. */
  streamTokenTtlMs: number;
  /** How long a retried/replayed callback is recognised. Default 6 h. */
  dedupeTtlMs: number;
  /** Largest accepted Twilio request body. Default 16 kB. */
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** API requests per client IP per minute. Default 300. */
  apiRatePerMinute: number;
  /** Failed Twilio signature checks per client IP per minute before 429. Default 20. */
  failedSignaturesPerMinute: number;
  /** How often the reaper looks at active calls. Default 5 s. */
  reaperIntervalMs: number;
  /** A call not yet answered and without any event for this long is checked with Twilio. */
  stuckAfterMs: number;
  /** Grace after MAX_DURATION_SECONDS before the reaper hangs up (Twilio's TimeLimit acts first). */
  maxDurationGraceMs: number;
  /** Waits before each Twilio REST fetch after a stream `stop` or a hang-up (`settleCall`); ~5 s in all. */
  settleDelaysMs: number[];
  /** How often the event outbox is looked at. Default 250 ms. */
  eventPollMs: number;
  /** A call whose events one gateway is delivering is held for this long (renewed). Default EVENT_WEBHOOK_TIMEOUT_MS + 20 s. */
  eventLeaseMs: number;
  /** Calls whose events are delivered at the same time. Default 16. */
  eventConcurrency: number;
  /** More stream reconnects than this within `reconnectWindowMs` end the call (apology + hang-up). */
  maxReconnects: number;
  reconnectWindowMs: number;
  /** `<Pause>` before a reconnect's `<Connect>`, seconds. */
  reconnectPauseSec: number;
  /** An answered call with no stream lease and a quiet record for this long is ended (reaper). */
  orphanGraceMs: number;
}

export function defaultTuning(c: GatewayConfig): GatewayTuning {
  return {
    streamTokenTtlMs: 5 * 60_000,
    dedupeTtlMs: 6 * 3600_000,
    maxBodyBytes: 16 * 1024,
    bodyTimeoutMs: 10_000,
    apiRatePerMinute: 300,
    failedSignaturesPerMinute: 20,
    reaperIntervalMs: 5_000,
    stuckAfterMs: (c.RING_TIMEOUT_SECONDS + 60) * 1000,
    maxDurationGraceMs: 10_000,
    settleDelaysMs: [200, 300, 500, 750, 1000, 1000, 1000],
    eventPollMs: 250,
    eventLeaseMs: c.EVENT_WEBHOOK_TIMEOUT_MS + 20_000,
    eventConcurrency: 16,
    maxReconnects: 5,
    reconnectWindowMs: 120_000,
    reconnectPauseSec: 1,
    orphanGraceMs: 30_000,
  };
}

/** What the route handlers share. */
export interface GatewayContext {
  config: GatewayConfig;
  tuning: GatewayTuning;
  log: Logger;
  bus: Bus;
  store: CallStore;
  lifecycle: CallLifecycle;
  twilio: TwilioCalls;
  urls: ReturnType<typeof publicUrls>;
  now: () => number;
}
