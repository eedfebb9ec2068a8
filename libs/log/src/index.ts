import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/** Paths pino blanks in every log line: credentials, tokens, and personal data under `pii`. */
export const redactPaths = [
  "authToken",
  "token",
  "apiKey",
  "password",
  "secret",
  "*.authToken",
  "*.token",
  "*.apiKey",
  "*.password",
  "*.secret",
  "headers.authorization",
  "headers.cookie",
  'headers["x-twilio-signature"]',
  "req.headers.authorization",
  'req.headers["x-twilio-signature"]',
  "customParameters.token",
  "*.customParameters.token",
  "pii",
  "*.pii",
];

export interface LogOptions {
  service: string;
  instance?: string;
  level?: string;
  pretty?: boolean;
  /** Write here instead of stdout (tests capture logs this way). */
  destination?: pino.DestinationStream;
}

/** The root logger of a process. Messages are fixed text; values go in fields. */
export function createLogger(o: LogOptions): Logger {
  const base = { service: o.service, ...(o.instance ? { instance: o.instance } : {}) };
  const opts: pino.LoggerOptions = { level: o.level ?? "info", base, redact: { paths: redactPaths, censor: "[redacted]" } };
  if (o.destination) return pino(opts, o.destination);
  if (o.pretty) return pino({ ...opts, transport: { target: "pino-pretty", options: { colorize: true } } });
  return pino(opts);
}

/** Child logger bound to one call: every line about a call carries `callId` (and `callSid` once known). */
export function callLogger(log: Logger, callId: string, callSid?: string): Logger {
  return log.child(callSid ? { callId, callSid } : { callId });
}
