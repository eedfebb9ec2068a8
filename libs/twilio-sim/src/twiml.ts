import { parseXml, XmlError, type XmlElement } from "./xml";

/** A `<Stream>` noun (inside `<Connect>` or `<Start>`). */
export interface StreamSpec {
  url: string;
  name?: string;
  track: string;
  statusCallback?: string;
  statusCallbackMethod: "GET" | "POST";
  /** `<Parameter name value>` children → `start.customParameters`. */
  parameters: Record<string, string>;
}

export interface DialTarget {
  kind: "number" | "client" | "sip" | "conference" | "queue" | "text";
  value: string;
}

export type Verb =
  | { verb: "Say"; text: string; voice?: string; language?: string; loop: number }
  | { verb: "Play"; url: string; loop: number; digits?: string }
  | { verb: "Pause"; lengthSec: number }
  | { verb: "Redirect"; url: string; method: "GET" | "POST" }
  | { verb: "Hangup" }
  | { verb: "Reject"; reason: "rejected" | "busy" }
  | { verb: "Connect"; action?: string; method: "GET" | "POST"; stream?: StreamSpec; noun?: string }
  | { verb: "Start"; stream: StreamSpec }
  | { verb: "Stop"; streamName?: string }
  | {
      verb: "Gather";
      action?: string;
      method: "GET" | "POST";
      numDigits?: number;
      finishOnKey: string;
      timeoutSec: number;
      input: string;
      actionOnEmptyResult: boolean;
      nested: Verb[];
    }
  | {
      verb: "Dial";
      targets: DialTarget[];
      action?: string;
      method: "GET" | "POST";
      callerId?: string;
      timeoutSec: number;
    }
  /** Valid TwiML this simulator does not model (Record, Enqueue, Pay, …): skipped with a warning. */
  | { verb: "Unsimulated"; name: string };

/** Twilio's application error: 12100 document parse failure, 12200 schema validation. */
export class TwimlError extends Error {
  override name = "TwimlError";
  constructor(
    readonly code: 12100 | 12200 | 12300,
    message: string,
  ) {
    super(message);
  }
}

export interface ParsedTwiml {
  verbs: Verb[];
  /** Non-fatal findings (e.g. query string on a Stream url). */
  warnings: { code: number; message: string }[];
}

const unsimulated = new Set([
  "Record",
  "Enqueue",
  "Leave",
  "Pay",
  "Prompt",
  "Refer",
  "Sms",
  "Message",
  "Echo",
  "Queue",
]);
const method = (m: string | undefined): "GET" | "POST" => (m?.toUpperCase() === "GET" ? "GET" : "POST");
const int = (s: string | undefined, d: number): number => (s !== undefined && /^\d+$/.test(s.trim()) ? Number(s) : d);

/**
 * Parse a TwiML voice document. Throws `TwimlError` 12100 for empty/invalid XML or a root other
 * than `<Response>`, 12200 for an unknown verb or noun (TwiML is case-sensitive: `<say>` is unknown).
 * Twilio reports both as an application error and ends the call.
 */
export function parseTwiml(xml: string): ParsedTwiml {
  if (!xml.trim()) throw new TwimlError(12100, "Document parse failure: empty response body");
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    throw new TwimlError(12100, `Document parse failure: ${(err as XmlError).message}`);
  }
  if (root.name !== "Response")
    throw new TwimlError(12100, `Document parse failure: root element is <${root.name}>, expected <Response>`);
  const warnings: ParsedTwiml["warnings"] = [];
  return { verbs: root.children.map((el) => verbOf(el, warnings)), warnings };
}

function streamOf(el: XmlElement, warnings: ParsedTwiml["warnings"]): StreamSpec {
  const parameters: Record<string, string> = {};
  for (const p of el.children) {
    if (p.name !== "Parameter")
      throw new TwimlError(12200, `Schema validation warning: <${p.name}> not allowed in <Stream>`);
    if (p.attrs.name !== undefined) parameters[p.attrs.name] = p.attrs.value ?? "";
  }
  const url = el.attrs.url ?? "";
  if (!url) throw new TwimlError(12200, "Schema validation warning: <Stream> requires url");
  if (url.includes("?"))
    warnings.push({
      code: 31920,
      message: "Stream url has a query string: Twilio does not support it (use <Parameter>)",
    });
  return {
    url,
    name: el.attrs.name,
    track: el.attrs.track ?? "inbound_track",
    statusCallback: el.attrs.statusCallback,
    statusCallbackMethod: method(el.attrs.statusCallbackMethod),
    parameters,
  };
}

function verbOf(el: XmlElement, warnings: ParsedTwiml["warnings"]): Verb {
  const a = el.attrs;
  switch (el.name) {
    case "Say":
      return { verb: "Say", text: el.text, voice: a.voice, language: a.language, loop: int(a.loop, 1) };
    case "Play":
      return { verb: "Play", url: el.text, loop: int(a.loop, 1), digits: a.digits };
    case "Pause":
      return { verb: "Pause", lengthSec: int(a.length, 1) };
    case "Redirect":
      return { verb: "Redirect", url: el.text, method: method(a.method) };
    case "Hangup":
      return { verb: "Hangup" };
    case "Reject":
      return { verb: "Reject", reason: a.reason === "busy" ? "busy" : "rejected" };
    case "Connect": {
      const child = el.children[0];
      const base = { verb: "Connect" as const, action: a.action, method: method(a.method) };
      if (!child) throw new TwimlError(12200, "Schema validation warning: <Connect> needs a noun");
      if (child.name === "Stream") return { ...base, stream: streamOf(child, warnings) };
      if (["ConversationRelay", "Room", "VirtualAgent", "Conversation", "Assistant"].includes(child.name))
        return { ...base, noun: child.name };
      throw new TwimlError(12200, `Schema validation warning: <${child.name}> not allowed in <Connect>`);
    }
    case "Start": {
      const child = el.children[0];
      if (child?.name === "Stream") return { verb: "Start", stream: streamOf(child, warnings) };
      if (child && ["Siprec", "Transcription", "Recording"].includes(child.name))
        return { verb: "Unsimulated", name: `Start/${child.name}` };
      throw new TwimlError(12200, `Schema validation warning: <Start> needs <Stream>`);
    }
    case "Stop":
      return { verb: "Stop", streamName: el.children[0]?.attrs.name };
    case "Gather":
      return {
        verb: "Gather",
        action: a.action,
        method: method(a.method),
        numDigits: a.numDigits ? int(a.numDigits, 1) : undefined,
        finishOnKey: a.finishOnKey ?? "#",
        timeoutSec: int(a.timeout, 5),
        input: a.input ?? "dtmf",
        actionOnEmptyResult: a.actionOnEmptyResult === "true",
        nested: el.children.map((c) => {
          if (!["Say", "Play", "Pause"].includes(c.name))
            throw new TwimlError(12200, `Schema validation warning: <${c.name}> not allowed in <Gather>`);
          return verbOf(c, warnings);
        }),
      };
    case "Dial": {
      const kinds: Record<string, DialTarget["kind"]> = {
        Number: "number",
        Client: "client",
        Sip: "sip",
        Conference: "conference",
        Queue: "queue",
      };
      const targets: DialTarget[] = el.children.map((c) => ({ kind: kinds[c.name] ?? "text", value: c.text }));
      if (!targets.length && el.text) targets.push({ kind: "number", value: el.text });
      return {
        verb: "Dial",
        targets,
        action: a.action,
        method: method(a.method),
        callerId: a.callerId,
        timeoutSec: int(a.timeout, 30),
      };
    }
    default:
      if (unsimulated.has(el.name)) return { verb: "Unsimulated", name: el.name };
      throw new TwimlError(12200, `Schema validation warning: unknown verb <${el.name}>`);
  }
}
