import { Writable } from "node:stream";
import { createLogger, type Logger } from "@voicecall/log";

/** A real pino logger whose lines are kept (parsed) for assertions, e.g. "no secret in logs". */
export function testLogger(
  service = "test",
  level = process.env.TEST_LOG_LEVEL ?? "debug",
): { log: Logger; lines: Record<string, unknown>[]; text: () => string } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split("\n")) {
        if (!l) continue;
        raw.push(l);
        try {
          lines.push(JSON.parse(l));
        } catch {
          lines.push({ raw: l });
        }
        if (process.env.TEST_LOG_ECHO) process.stderr.write(l + "\n");
      }
      cb();
    },
  });
  return { log: createLogger({ service, level, destination: dest }), lines, text: () => raw.join("\n") };
}
