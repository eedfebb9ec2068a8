import { errorReason, safeError } from "@voicecall/log";

/**
 * A failed Twilio REST request, reduced at the client so no logger or API answer ever sees the HTTP
 * client's error (whose request carries `Authorization: Basic <SID:token>`):
 * - `unreachable`: no HTTP answer (refused, reset, DNS, timeout) — the API answers 503;
 * - `rejected`: Twilio answered an error (`status`, Twilio's `code` and message) — the API answers 502;
 * - `not-configured`: no Twilio account on this gateway — the API answers 503.
 */
export class TwilioFailure extends Error {
  override name = "TwilioFailure";
  constructor(
    readonly kind: "unreachable" | "rejected" | "not-configured",
    message: string,
    readonly status?: number,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Reduce whatever the `twilio` library threw: a RestException has a numeric `status`; anything else never got an answer. */
export function toTwilioFailure(err: unknown): TwilioFailure {
  if (err instanceof TwilioFailure) return err;
  const e = err as { status?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.status === "number") {
    const s = safeError(err);
    return new TwilioFailure(
      "rejected",
      s.message || `HTTP ${e.status}`,
      e.status,
      typeof e.code === "number" ? e.code : undefined,
    );
  }
  const code = safeError(err).code;
  const timedOut = code === "ECONNABORTED" || code === "ETIMEDOUT" || /timeout/i.test(String(e?.message ?? ""));
  return new TwilioFailure("unreachable", timedOut ? "no answer in time (timeout)" : errorReason(err));
}

/** The API's answer for a Twilio failure: never a bare 500. */
export function twilioAnswer(f: TwilioFailure): {
  status: number;
  body: { error: string; reason: string; code?: number; twilioStatus?: number };
} {
  switch (f.kind) {
    case "unreachable":
      return { status: 503, body: { error: "twilio unreachable", reason: f.message } };
    case "not-configured":
      return { status: 503, body: { error: f.message, reason: "not-configured" } };
    case "rejected":
      return {
        status: 502,
        body: {
          error: `twilio rejected: ${f.code ?? f.status} ${f.message}`,
          reason: f.message,
          code: f.code,
          twilioStatus: f.status,
        },
      };
  }
}
