import twilio from "twilio";

type RequestOpts = Parameters<InstanceType<typeof twilio.RequestClient>["request"]>[0];

/**
 * A `RequestClient` that sends every `*.twilio.com` request to `origin` instead (path and query
 * kept), so the real `twilio` client talks to the simulator through its supported `httpClient` hook:
 * `twilio(sid, token, { httpClient: simulatorHttpClient("http://127.0.0.1:4010") })`.
 * Basic auth, form encoding (repeated keys) and response parsing stay twilio-node's own.
 */
export function simulatorHttpClient(origin: string): InstanceType<typeof twilio.RequestClient> {
  const base = new URL(origin);
  class SimulatorRequestClient extends twilio.RequestClient {
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
  return new SimulatorRequestClient({ keepAlive: false });
}
