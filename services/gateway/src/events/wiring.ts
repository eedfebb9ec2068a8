import type { GatewayContext } from "../context";
import { EventDelivery } from "./delivery";

/** The gateway's event delivery, from its config and tuning. */
export function eventDelivery(ctx: GatewayContext): EventDelivery {
  const c = ctx.config;
  return new EventDelivery(
    ctx.store,
    ctx.log.child({ part: "events" }),
    {
      url: c.EVENT_WEBHOOK_URL,
      secret: c.EVENT_WEBHOOK_SECRET,
      policy: { baseMs: c.EVENT_RETRY_BASE_MS, maxMs: c.EVENT_RETRY_MAX_MS, budgetMs: c.EVENT_RETRY_BUDGET_MS },
      timeoutMs: c.EVENT_WEBHOOK_TIMEOUT_MS,
      pollMs: ctx.tuning.eventPollMs,
      leaseMs: ctx.tuning.eventLeaseMs,
      concurrency: ctx.tuning.eventConcurrency,
    },
    ctx.now,
  );
}
