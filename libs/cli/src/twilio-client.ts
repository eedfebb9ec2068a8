import twilio from "twilio";

/**
 * The twilio library client; with `apiBase` (the simulator's origin) requests go there through the
 * library's supported `httpClient` hook instead of https://api.twilio.com.
 */
export function twilioClient(accountSid: string, authToken: string, apiBase?: string): twilio.Twilio {
  if (!apiBase) return twilio(accountSid, authToken);
  const base = apiBase.replace(/\/+$/, "");
  class Rewriting extends twilio.RequestClient {
    override request<T>(opts: Parameters<twilio.RequestClient["request"]>[0]) {
      const rewritten = { ...opts, uri: String(opts.uri).replace(/^https:\/\/[a-z0-9.-]*twilio\.com/, base) };
      return super.request<T>(rewritten as never);
    }
  }
  return twilio(accountSid, authToken, { httpClient: new Rewriting() });
}
