import { twilioClient } from "@voicecall/twilio-client";
import { TwilioFailure, toTwilioFailure } from "./twilio-failure";

/** The Call fields the gateway reads back from Twilio REST. */
export interface TwilioCall {
  sid: string;
  status: string;
  answeredBy?: string | null;
}

export interface CreateCallParams {
  to: string;
  from: string;
  url: string;
  statusCallback: string;
  statusCallbackEvent: string[];
  /** Ring timeout, seconds. */
  timeout: number;
  /** Max call length, seconds. */
  timeLimit: number;
  machineDetection?: "Enable" | "DetectMessageEnd";
  asyncAmd?: "true" | "false";
  asyncAmdStatusCallback?: string;
}

export type UpdateCallParams =
  { status: "completed" | "canceled" } | { twiml: string } | { url: string; method: "POST" };

/** The slice of Twilio REST the gateway uses; production code goes through the real `twilio` library. */
export interface TwilioCalls {
  create(p: CreateCallParams): Promise<TwilioCall>;
  update(sid: string, p: UpdateCallParams): Promise<TwilioCall>;
  fetch(sid: string): Promise<TwilioCall>;
}

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /** e.g. the simulator's origin `http://127.0.0.1:4010`; unset = real Twilio. */
  apiBaseUrl?: string;
}

/**
 * Build the REST client; the same code path for real Twilio and the simulator. Every failure leaves as a
 * `TwilioFailure`: the library's own error holds the request and its Basic auth header.
 */
export function createTwilioCalls(o: TwilioClientOptions): TwilioCalls {
  const client = twilioClient(o.accountSid, o.authToken, o.apiBaseUrl);
  const pick = (c: { sid: string; status: string; answeredBy?: string | null }): TwilioCall => ({
    sid: c.sid,
    status: c.status,
    answeredBy: c.answeredBy ?? null,
  });
  const reduce = (err: unknown): never => {
    throw toTwilioFailure(err);
  };
  return {
    async create(p) {
      return pick(await client.calls.create(p).catch(reduce));
    },
    async update(sid, p) {
      return pick(await client.calls(sid).update(p).catch(reduce));
    },
    async fetch(sid) {
      return pick(await client.calls(sid).fetch().catch(reduce));
    },
  };
}

/** Twilio REST error fields, when `err` is one (RestException). */
export function restError(err: unknown): { status?: number; code?: number; message: string } {
  const e = err as { status?: number; code?: number; message?: string };
  return {
    status: typeof e.status === "number" ? e.status : undefined,
    code: typeof e.code === "number" ? e.code : undefined,
    message: String(e.message ?? err),
  };
}

/** Stands in for the REST client when no real Twilio account is configured: every call says why. */
export function twilioNotConfigured(
  reason = "Twilio is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER",
): TwilioCalls {
  const off = () => Promise.reject(new TwilioFailure("not-configured", reason));
  return { create: off, update: off, fetch: off };
}
