import { classify, type Outcome } from "./retry";
import { SIGNATURE_HEADER, signEvent } from "./signature";

export interface SendOptions {
  url: string;
  secret: string;
  body: string;
  eventId: string;
  type: string;
  attempt: number;
  timeoutMs: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** POST one signed event; never throws (the outcome says what happened and whether to retry). */
export async function sendEvent(o: SendOptions): Promise<Outcome> {
  const now = o.now ?? Date.now;
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  try {
    const res = await fetch(o.url, {
      method: "POST",
      redirect: "manual",
      signal,
      headers: {
        "content-type": "application/json",
        "user-agent": "voicecall-events/1",
        "voicecall-event-id": o.eventId,
        "voicecall-event-type": o.type,
        "voicecall-delivery-attempt": String(o.attempt),
        [SIGNATURE_HEADER]: signEvent(o.secret, o.body, now() / 1000),
      },
      body: o.body,
    });
    // The answer's body is not used; read it so the connection is reused.
    await res.arrayBuffer().catch(() => undefined);
    return classify(res.status);
  } catch (err) {
    const e = err as Error;
    const timedOut = timeout.aborted && !o.signal?.aborted;
    const why = timedOut
      ? `no answer within ${o.timeoutMs} ms`
      : ((e.cause as Error | undefined)?.message ?? e.message);
    return { ok: false, retryable: true, error: `delivery failed: ${why}` };
  }
}
