import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  freePort,
  generateSecrets,
  redisServerArgs,
  startProc,
  waitFor,
  waitForPort,
  SERVICE_NAMES,
  type Proc,
  type ServiceName,
} from "@voicecall/testkit";
import { ROOT } from "./report";

/**
 * Services started before NATS and Redis exist wait for them (retrying with a growing, logged delay)
 * instead of exiting and crash-looping; once both come up, every /readyz answers 200.
 */
const procs: Proc[] = [];
const dir = mkdtempSync(join(tmpdir(), "vc-startup-"));
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop(5000)));
  rmSync(dir, { recursive: true, force: true });
});

type Line = { msg?: string; delayMs?: number; attempt?: number };
const lines = (p: Proc): Line[] =>
  p
    .output()
    .split("\n")
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Line];
      } catch {
        return [];
      }
    });

describe("services start before NATS and Redis", () => {
  it("wait with backoff (logged), then become ready when the servers appear", async () => {
    const natsPort = await freePort();
    const redisPort = await freePort();
    const ports = Object.fromEntries(
      await Promise.all(SERVICE_NAMES.map(async (n) => [n, await freePort()] as const)),
    ) as Record<ServiceName, number>;
    const env = {
      ...process.env,
      ...generateSecrets(),
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PUBLIC_URL: "https://localhost:8443",
      TWILIO_FROM_NUMBER: "+15005550006",
      LOG_LEVEL: "info",
    };
    const svc = new Map<ServiceName, Proc>();
    for (const name of SERVICE_NAMES) {
      const p = startProc(
        process.execPath,
        ["--import", "tsx", join("services", name, "src", "main.ts")],
        { ...env, PORT: String(ports[name]), INSTANCE_ID: `${name}-early` },
        ROOT,
      );
      procs.push(p);
      svc.set(name, p);
    }
    const retries = (p: Proc) => lines(p).filter((l) => l.msg === "nats not reachable yet, retrying");
    for (const [name, p] of svc) {
      await waitFor(
        () => {
          if (p.child.exitCode !== null)
            throw new Error(`${name} exited (${p.child.exitCode}) while NATS was down:\n${p.output().slice(-2000)}`);
          return retries(p).length >= 3;
        },
        `${name} retrying NATS three times`,
        60_000,
        100,
      );
    }
    const nats = startProc("nats-server", ["-a", "127.0.0.1", "-p", String(natsPort)]);
    procs.push(nats);
    await waitForPort(natsPort);
    for (const [name, p] of svc) {
      await waitFor(() => lines(p).some((l) => l.msg === "nats connected"), `${name} connected to NATS`, 60_000, 100);
    }
    // Redis still down: nobody is ready, nobody exited.
    for (const [name, p] of svc) {
      expect(p.child.exitCode, `${name} still running`).toBeNull();
      const r = await fetch(`http://127.0.0.1:${ports[name]}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(
        () => undefined,
      );
      expect(r?.status, `${name} /readyz without Redis`).not.toBe(200);
    }
    const redis = startProc("redis-server", redisServerArgs(redisPort, dir));
    procs.push(redis);
    await waitForPort(redisPort);
    for (const name of SERVICE_NAMES) {
      await waitFor(
        async () =>
          (
            await fetch(`http://127.0.0.1:${ports[name]}/readyz`, { signal: AbortSignal.timeout(3000) }).catch(
              () => undefined,
            )
          )?.status === 200,
        `${name} /readyz 200`,
        60_000,
        200,
      );
    }
    for (const [name, p] of svc) {
      // Backoff: the logged delays grow (capped), they are not a tight loop.
      const delays = retries(p).map((l) => l.delayMs ?? 0);
      expect(delays.length, name).toBeGreaterThanOrEqual(3);
      expect(delays[delays.length - 1]!, name).toBeGreaterThan(delays[0]!);
      for (let i = 1; i < delays.length; i++) expect(delays[i]!, name).toBeGreaterThanOrEqual(delays[i - 1]!);
      // Redis being away was logged too (ioredis retries with its own capped backoff).
      expect(
        lines(p).some((l) => l.msg === "redis error"),
        `${name} logged redis errors`,
      ).toBe(true);
      expect(p.child.exitCode, `${name} never exited`).toBeNull();
    }
  }, 180_000);
});
