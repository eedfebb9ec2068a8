/**
 * The simulated callers over worker threads (issue #20 item 2). Each worker runs its own simulator; the
 * stack's TWILIO_API_BASE_URL is this dispatcher, which sends a `Calls.json` create to the worker that owns
 * its `To` number and later requests for that call to the same worker (by the sid it answered with).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { Worker } from "node:worker_threads";
import { freePort } from "@voicecall/testkit";
import { callerNumber, type CallResult } from "./calls";
import type { RunRequest, RunResult, WorkerInit } from "./driver-worker";

export interface DriverPool {
  workers: number;
  /** Run calls `0..n-1` spread round robin over the workers, call i starting at i × stagger ms. */
  run(
    r: Omit<RunRequest, "indices" | "delays"> & { calls: number; staggerMs: number; firstIndex?: number },
  ): Promise<{ results: CallResult[]; driver: DriverLag }>;
  stop(): Promise<void>;
}
export interface DriverLag {
  workers: number;
  /** The worst worker's event-loop lag p99 and max, and each worker's loop utilisation. */
  lagP99Ms: number;
  lagMaxMs: number;
  utilization: number[];
  /** Every thread ran at the raised priority (DRIVER_NICE). */
  niced: boolean;
}

type Init = Omit<WorkerInit, "entry" | "simPort" | "nice">;

/**
 * The callers and Twilio's edge have machines of their own; here they share two cores with the stack, and a
 * saturated stack starved them (their loops lagged 200–300 ms p99 while driving ours, 10–60 ms while driving
 * the limit, with the same CPU of their own), which showed up as late "heard" stamps and underruns that the
 * product did not cause. The driver threads alone take a higher priority (the services are other processes
 * and keep nice 0). Needs root or CAP_SYS_NICE; without it the run says so.
 */
export const DRIVER_NICE = -5;
const BOOT = new URL("./driver-boot.mjs", import.meta.url);
const ENTRY = new URL("./driver-worker.ts", import.meta.url).href;

export async function startDriverPool(o: Init & { workers: number; port: number }): Promise<DriverPool> {
  const ports: number[] = [];
  const workers: Worker[] = [];
  for (let i = 0; i < o.workers; i++) {
    const simPort = await freePort();
    const { workers: _n, port: _p, ...init } = o;
    const wk = new Worker(BOOT, {
      workerData: { ...init, entry: ENTRY, simPort, nice: DRIVER_NICE } satisfies WorkerInit,
    });
    await new Promise<void>((resolve, reject) => {
      wk.once("message", () => resolve());
      wk.once("error", reject);
    });
    ports.push(simPort);
    workers.push(wk);
  }
  const byTo = new Map<string, number>();
  const bySid = new Map<string, number>();
  const route = (req: IncomingMessage, body: string): number => {
    const sid = /\/Calls\/(CA[0-9a-f]{32})/.exec(req.url ?? "")?.[1];
    if (sid) return bySid.get(sid) ?? 0;
    const to = new URLSearchParams(body).get("To");
    return (to ? byTo.get(to) : undefined) ?? 0;
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const k = route(req, body.toString());
      const fwd = request(
        { host: "127.0.0.1", port: ports[k], path: req.url, method: req.method, headers: req.headers },
        (up) => {
          const out: Buffer[] = [];
          up.on("data", (c: Buffer) => out.push(c));
          up.on("end", () => {
            const text = Buffer.concat(out);
            const sid = /"sid"\s*:\s*"(CA[0-9a-f]{32})"/.exec(text.toString())?.[1];
            if (sid && !bySid.has(sid)) bySid.set(sid, k);
            res.writeHead(up.statusCode ?? 502, up.headers).end(text);
          });
        },
      );
      fwd.on("error", (e) => res.writeHead(502).end(e.message));
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(o.port, "127.0.0.1", r));
  const ask = (wk: Worker, m: RunRequest) =>
    new Promise<RunResult>((resolve, reject) => {
      wk.once("message", resolve);
      wk.once("error", reject);
      wk.postMessage(m);
    });
  return {
    workers: o.workers,
    async run(r) {
      const first = r.firstIndex ?? 0;
      const parts = workers.map((wk, k) => {
        const indices: number[] = [];
        for (let i = k; i < r.calls; i += workers.length) indices.push(first + i);
        for (const i of indices) byTo.set(callerNumber(i), k);
        const { calls: _c, staggerMs: _s, firstIndex: _f, ...rest } = r;
        return indices.length
          ? ask(wk, { ...rest, indices, delays: indices.map((i) => (i - first) * r.staggerMs) })
          : undefined;
      });
      const done = (await Promise.all(parts)).filter((x): x is RunResult => !!x);
      return {
        results: done.flatMap((d) => d.results),
        driver: {
          workers: workers.length,
          lagP99Ms: Math.max(...done.map((d) => d.lagP99Ms)),
          lagMaxMs: Math.max(...done.map((d) => d.lagMaxMs)),
          utilization: done.map((d) => d.utilization),
          niced: done.every((d) => d.niced),
        },
      };
    },
    async stop() {
      await Promise.all(
        workers.map(
          (wk) =>
            new Promise<void>((r) => {
              wk.once("message", () => r());
              wk.postMessage("stop");
              setTimeout(r, 10_000).unref();
            }),
        ),
      );
      await Promise.all(workers.map((wk) => wk.terminate()));
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
