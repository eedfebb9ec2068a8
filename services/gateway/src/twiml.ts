import twilio from "twilio";

const { VoiceResponse } = twilio.twiml;

/** Public URLs derived from PUBLIC_URL (an https origin, no trailing slash). */
export function publicUrls(publicUrl: string) {
  const host = new URL(publicUrl).host;
  return {
    streamUrl: `wss://${host}/voice/stream`,
    webhook: (callId: string, reconnect = false) =>
      `${publicUrl}/voice/webhook?callId=${encodeURIComponent(callId)}${reconnect ? "&reconnect=1" : ""}`,
    status: (callId?: string) => `${publicUrl}/voice/status${callId ? `?callId=${encodeURIComponent(callId)}` : ""}`,
    amd: (callId: string) => `${publicUrl}/voice/amd?callId=${encodeURIComponent(callId)}`,
    /** The `<Stream statusCallback>`: under `/voice/status` so the proxy sends it to the gateway. */
    streamStatus: (callId: string) => `${publicUrl}/voice/status/stream?callId=${encodeURIComponent(callId)}`,
  };
}

/**
 * Connect the call to the media stream; when the stream ends (worker lost, redeploy), Twilio runs the
 * `<Redirect>` and asks the webhook again (with `reconnect=1`) for a fresh stream and token.
 */
export function connectStreamTwiml(o: {
  streamUrl: string;
  callId: string;
  token: string;
  redirectUrl: string;
  statusCallback?: string;
  pauseSec?: number;
}): string {
  const r = new VoiceResponse();
  // A reconnect waits a moment first: whatever failed (a worker restarting) gets time to recover.
  if (o.pauseSec) r.pause({ length: o.pauseSec });
  const stream = r.connect().stream({
    url: o.streamUrl,
    ...(o.statusCallback ? { statusCallback: o.statusCallback, statusCallbackMethod: "POST" } : {}),
  });
  stream.parameter({ name: "callId", value: o.callId });
  stream.parameter({ name: "token", value: o.token });
  r.redirect({ method: "POST" }, o.redirectUrl);
  return r.toString();
}

/** A short spoken reason and a hang-up: never an empty body, which Twilio treats as an error. */
export function sayHangupTwiml(text: string): string {
  const r = new VoiceResponse();
  r.say(text);
  r.hangup();
  return r.toString();
}

export function rejectTwiml(reason: "busy" | "rejected"): string {
  const r = new VoiceResponse();
  r.reject({ reason });
  return r.toString();
}

/** Ask Twilio to come back shortly (another request is still building the answer). */
export function retryLaterTwiml(url: string): string {
  const r = new VoiceResponse();
  r.pause({ length: 1 });
  r.redirect({ method: "POST" }, url);
  return r.toString();
}

export function dialTwiml(to: string): string {
  const r = new VoiceResponse();
  r.dial(to);
  return r.toString();
}

/** An empty answer for callbacks whose body Twilio ignores (status, AMD). */
export const emptyTwiml = (): string => new VoiceResponse().toString();
