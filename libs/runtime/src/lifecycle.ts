import { hostname } from "node:os";
import type { Logger } from "@voicecall/log";
import { onLauncherExit } from "./orphan";

/** Default instance id: hostname (the container id under compose) + pid. */
export const defaultInstanceId = (service: string): string => `${service}-${hostname()}-${process.pid}`;

/**
 * Run `stop` once on SIGTERM/SIGINT (or when the npm/npx that launched us exits), then exit 0; exit 1
 * if it takes longer than `timeoutMs`.
 * Shutdown order lives in the service's `stop`: stop accepting, finish in-flight work, drain NATS.
 */
export function onShutdown(log: Logger, timeoutMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const t = setTimeout(() => {
      log.error({ timeoutMs }, "shutdown timed out");
      process.exit(1);
    }, timeoutMs);
    t.unref();
    stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
  // `npx tsx services/x/src/main.ts`: a SIGTERM to npx never reaches us; its exit does.
  onLauncherExit((why) => handler(why));
}

/** Renew a heartbeat (or lease) every `everyMs` until the returned stop function is called. */
export function every(everyMs: number, fn: () => Promise<unknown>, log?: Logger): () => void {
  let running = false;
  const t = setInterval(() => {
    if (running) return;
    running = true;
    fn()
      .catch((err) => log?.warn({ err: (err as Error).message }, "periodic task failed"))
      .finally(() => (running = false));
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
