import twilio from "twilio";

type RequestOpts = Parameters<InstanceType<typeof twilio.RequestClient>["request"]>[0];

/** Per REST request: twilio-node's own default is 30 s, longer than an API client or Twilio's webhook wait. */
export const TWILIO_REQUEST_TIMEOUT_MS = 10_000;

/**
 * twilio-node's supported seam for another API origin: a `RequestClient` whose requests to
 * `*.twilio.com` go to `origin` instead (path and query kept; Basic auth, form encoding with repeated
 * keys and response parsing stay twilio-node's own). Used to point the real client at the simulator.
 */
export function originHttpClient(origin: string): InstanceType<typeof twilio.RequestClient> {
  const base = new URL(origin);
  class OriginRequestClient extends twilio.RequestClient {
    override request<T>(opts: RequestOpts) {
      const u = new URL(opts.uri);
      if (u.hostname === "twilio.com" || u.hostname.endsWith(".twilio.com")) {
        u.protocol = base.protocol;
        u.host = base.host;
        opts = { ...opts, uri: u.toString() };
      }
      return super.request<T>(opts as never);
    }
  }
  // A fresh connection per request: a kept-alive socket to a simulator that restarts or times it out idle
  // can be reused in the instant it closes (ECONNRESET on a create), and the tests restart simulators.
  // Against real Twilio the library's own client (kept alive) is used, not this one.
  return new OriginRequestClient({ keepAlive: false, timeout: TWILIO_REQUEST_TIMEOUT_MS });
}

/** The `twilio` REST client: real Twilio, or with `apiBase` (e.g. `http://127.0.0.1:4010`) that origin. */
export function twilioClient(accountSid: string, authToken: string, apiBase?: string): twilio.Twilio {
  return twilio(
    accountSid,
    authToken,
    apiBase ? { httpClient: originHttpClient(apiBase) } : { timeout: TWILIO_REQUEST_TIMEOUT_MS },
  );
}
