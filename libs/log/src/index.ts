import pino, { type Logger } from "pino";
import { redactDeep, scrubText, secretForms } from "./redact";
import { safeError } from "./safe-error";

export type { Logger } from "pino";
export { CENSOR, configSecrets, isSecretKey, redactDeep, scrubText, secretForms } from "./redact";
export { errorReason, safeError, safeUrl, scrubCredentials, vendorMessage, type SafeError } from "./safe-error";

export interface LogOptions {
  service: string;
  instance?: string;
  level?: string;
  pretty?: boolean;
  /**
   * This process's secret values (tokens, API keys, `SID:token`): censored wherever they appear in a
   * line, in any spelling `secretForms` knows — messages, error texts and bindings included.
   */
  secrets?: readonly (string | undefined)[];
  /** Write here instead of stdout (tests capture logs this way). */
  destination?: pino.DestinationStream;
}

/**
 * The root logger of a process. Messages are fixed text; values go in fields. Three layers keep secrets
 * out: errors are reduced to `SafeError` (no request, no headers); keys that name a secret (and `pii`) are
 * censored at any depth and in any case; the finished line has every known secret form and every
 * credential pattern (`Basic …`, `Bearer …`, `user:pass@`) censored.
 */
export function createLogger(o: LogOptions): Logger {
  const base = { service: o.service, ...(o.instance ? { instance: o.instance } : {}) };
  const forms = secretForms(o.secrets ?? []);
  const opts: pino.LoggerOptions = {
    level: o.level ?? "info",
    base,
    serializers: { err: (e: unknown) => (e instanceof Error ? safeError(e) : redactDeep(e)) },
    formatters: {
      log: (obj) => redactDeep(obj) as Record<string, unknown>,
      bindings: (b) => redactDeep(b) as pino.Bindings,
    },
    hooks: { streamWrite: (s) => scrubText(s, forms) },
  };
  if (o.destination) return pino(opts, o.destination);
  if (o.pretty) return pino({ ...opts, transport: { target: "pino-pretty", options: { colorize: true } } });
  return pino(opts);
}

/** Child logger bound to one call: every line about a call carries `callId` (and `callSid` once known). */
export function callLogger(log: Logger, callId: string, callSid?: string): Logger {
  return log.child(callSid ? { callId, callSid } : { callId });
}
