// Callers for the compose test: a browser-phone client (the page's protocol, without the page) and
// Twilio-simulator phone calls, both from the host into Caddy.
import { mulawDecode, toFrames, voicedMs } from "@voicecall/audio";
import { HeardRecorder, MediaStream, synthesize } from "@voicecall/twilio-sim";
import { waitFor } from "@voicecall/testkit";
import { https } from "./compose";

export const voiced = (mu: Uint8Array) => voicedMs(mulawDecode(mu), 8000);

/** Public URLs lead to Caddy on this host's 443, whatever PUBLIC_HOST is (as DNS would). */
export const toHost = (u: URL) => {
  const d = new URL(u);
  d.hostname = "127.0.0.1";
  d.port = "443";
  return d;
};

/** The caller's audio queue: one 20 ms frame per tick of the stream, silence when empty. */
export class Mouth {
  private frames: Uint8Array[] = [];
  next = () => this.frames.shift();
  async say(text: string): Promise<void> {
    this.frames.push(...toFrames(await synthesize(text)));
    await waitFor(() => this.frames.length === 0, `said "${text}"`, 30_000, 20);
  }
}

export interface Api {
  origin: string;
  token: string;
  ca: Buffer;
}

export const apiCall = (a: Api, method: string, path: string, body?: unknown) =>
  https(`https://127.0.0.1${path}`, {
    method,
    body,
    token: a.token,
    ca: a.ca,
    headers: { host: new URL(a.origin).host },
    servername: new URL(a.origin).hostname,
  });

export interface CallView {
  call: { state: string; mediaOwner?: string; greetingPlayed?: boolean };
  transcript: { role: string; text: string }[];
}
export const callView = async (a: Api, callId: string) =>
  (await apiCall(a, "GET", `/api/calls/${callId}`)).json as CallView;

/** A browser-phone call: POST /phone/calls, then the page's Media Streams socket through Caddy. */
export async function webCall(a: Api, authToken: string) {
  const r = await apiCall(a, "POST", "/phone/calls", {});
  if (r.status !== 201) throw new Error(`POST /phone/calls → ${r.status} ${r.text}`);
  const c = r.json as {
    callId: string;
    callSid: string;
    accountSid: string;
    streamSid: string;
    streamUrl: string;
    token: string;
  };
  const mouth = new Mouth();
  const recorder = new HeardRecorder(Date.now());
  const stream = new MediaStream({
    url: c.streamUrl,
    authToken,
    accountSid: c.accountSid,
    callSid: c.callSid,
    streamSid: c.streamSid,
    customParameters: { callId: c.callId, token: c.token },
    ca: a.ca,
    route: toHost,
    nextCallerFrame: mouth.next,
    recorder,
    onWarning: () => undefined,
  });
  const opened = await stream.open();
  if (!opened.ok) throw new Error(`browser stream: ${opened.message}`);
  return {
    callId: c.callId,
    mouth,
    stream,
    heardMs: () => voiced(recorder.snapshot().audio),
    hangup: () => apiCall(a, "POST", `/phone/calls/${c.callId}/hangup`),
  };
}
export type WebCall = Awaited<ReturnType<typeof webCall>>;

/** The container (short id) a call's media stream lives on: instance ids are `media-<hostname>-<pid>`. */
export const ownerOf = (v: CallView) => /^media-([0-9a-f]{12})-/.exec(v.call.mediaOwner ?? "")?.[1];
