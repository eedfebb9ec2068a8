import type { DialTarget, ParsedTwiml, StreamSpec, Verb } from "./twiml";

/** How a `<Connect><Stream>` ended. */
export type StreamEnd = "app-closed" | "failed" | "interrupted";

/** What the interpreter needs from the call it runs on. Every wait must honour `signal`. */
export interface TwimlHost {
  /** Aborted when the call ends or its TwiML is replaced over REST. */
  readonly signal: AbortSignal;
  say(v: Extract<Verb, { verb: "Say" }>): Promise<void>;
  play(v: Extract<Verb, { verb: "Play" }>): Promise<void>;
  pause(ms: number): Promise<void>;
  /** Blocks until the socket closes (`<Connect>` semantics). */
  connectStream(spec: StreamSpec): Promise<StreamEnd>;
  /** Non-blocking (`<Start>` semantics). */
  startStream(spec: StreamSpec): void;
  stopStream(name?: string): void;
  /** Collects DTMF; "" on timeout. */
  gather(v: Extract<Verb, { verb: "Gather" }>): Promise<{ digits: string; finishedOnKey?: string }>;
  /** Records the transfer; resolves when our part of the call is over. */
  dial(targets: DialTarget[], v: Extract<Verb, { verb: "Dial" }>): Promise<void>;
  warn(code: number, message: string): void;
}

export type Outcome =
  | {
      kind: "fetch";
      url: string;
      method: "GET" | "POST";
      params: Record<string, string>;
      why: "redirect" | "connect-action" | "gather-action" | "dial-action";
    }
  | { kind: "hangup"; reason: "hangup-verb" | "end-of-document" | "dial-ended" | "bad-url" }
  | { kind: "reject"; reason: "rejected" | "busy" }
  | { kind: "aborted" };

const resolve = (u: string, base: string | undefined): string | undefined => {
  try {
    return new URL(u.trim(), base).toString();
  } catch {
    return undefined;
  }
};

/**
 * Run one TwiML document, verb by verb, as Twilio does: `<Connect>` blocks until the app closes the
 * socket, then `action` (if any) or the next verb runs; running off the end hangs up; `<Redirect>`,
 * a Gather with input, a Connect/Dial action all fetch a new document (the caller loops).
 */
export async function interpret(doc: ParsedTwiml, documentUrl: string | undefined, host: TwimlHost): Promise<Outcome> {
  for (const w of doc.warnings) host.warn(w.code, w.message);
  for (const v of doc.verbs) {
    if (host.signal.aborted) return { kind: "aborted" };
    const out = await runVerb(v, documentUrl, host);
    if (host.signal.aborted) return { kind: "aborted" };
    if (out) return out;
  }
  return { kind: "hangup", reason: "end-of-document" };
}

async function runVerb(v: Verb, documentUrl: string | undefined, host: TwimlHost): Promise<Outcome | undefined> {
  const fetch = (
    url: string | undefined,
    method: "GET" | "POST",
    why: Extract<Outcome, { kind: "fetch" }>["why"],
    params: Record<string, string> = {},
  ): Outcome => {
    const abs = url === undefined ? documentUrl : resolve(url, documentUrl);
    if (!abs) {
      host.warn(11100, `Invalid URL format: ${url ?? "(none)"}`);
      return { kind: "hangup", reason: "bad-url" };
    }
    return { kind: "fetch", url: abs, method, params, why };
  };
  switch (v.verb) {
    case "Say":
      await host.say(v);
      return;
    case "Play":
      await host.play(v);
      return;
    case "Pause":
      await host.pause(v.lengthSec * 1000);
      return;
    case "Redirect":
      return fetch(v.url, v.method, "redirect");
    case "Hangup":
      return { kind: "hangup", reason: "hangup-verb" };
    case "Reject":
      return { kind: "reject", reason: v.reason };
    case "Connect": {
      if (!v.stream) {
        host.warn(0, `<Connect><${v.noun}> is not simulated; skipped`);
        return;
      }
      const end = await host.connectStream(v.stream);
      if (end === "interrupted" || host.signal.aborted) return { kind: "aborted" };
      return v.action ? fetch(v.action, v.method, "connect-action") : undefined;
    }
    case "Start":
      host.startStream(v.stream);
      return;
    case "Stop":
      host.stopStream(v.streamName);
      return;
    case "Gather": {
      const r = await host.gather(v);
      if (host.signal.aborted) return { kind: "aborted" };
      if (!r.digits && !v.actionOnEmptyResult) return; // Twilio falls through to the next verb
      const params: Record<string, string> = { Digits: r.digits };
      if (r.finishedOnKey !== undefined) params.FinishedOnKey = r.finishedOnKey;
      return fetch(v.action, v.method, "gather-action", params);
    }
    case "Dial":
      await host.dial(v.targets, v);
      if (host.signal.aborted) return { kind: "aborted" };
      return v.action
        ? fetch(v.action, v.method, "dial-action", { DialCallStatus: "completed", DialCallDuration: "0" })
        : { kind: "hangup", reason: "dial-ended" };
    case "Unsimulated":
      host.warn(0, `<${v.name}> is valid TwiML but not simulated; skipped`);
      return;
  }
}
