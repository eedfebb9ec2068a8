/**
 * One driver worker thread: its own Twilio simulator (REST on its own port, behind the pool's dispatcher)
 * and the simulated callers of the calls given to it, so the callers' event loops are spread over threads
 * and one loaded loop does not delay every call's audio. Reports its results and its own event-loop lag.
 */
import { randomBytes } from "node:crypto";
import { setPriority } from "node:os";
import { request } from "node:https";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { parentPort, threadId, workerData } from "node:worker_threads";
import { Session } from "node:inspector";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, StringCodec } from "nats";
import { roundTrip, startSimulator } from "@voicecall/twilio-sim";
import { driveCall, until, type BusEvent, type CallResult, type Dial } from "./calls";
import type { CallerAudio } from "./audio";

export interface WorkerInit {
  entry: string;
  simPort: number;
  accountSid: string;
  authToken: string;
  ca: string;
  origin: string;
  apiToken: string;
  natsUrl: string;
  rttMs: number;
  jitterMs: number;
  nice: number;
}
/** One batch of calls; `target` says whose server answers them. */
export interface RunRequest {
  target: "ours" | "limit";
  indices: number[];
  /** ms after the batch starts at which each call starts (same order as indices). */
  delays: number[];
  greeting: string;
  durationMs: number;
  withNoises: boolean;
  audio: CallerAudio;
  timeoutMs: number;
}
export interface RunResult {
  results: CallResult[];
  lagP99Ms: number;
  lagMaxMs: number;
  /** Share of the batch's wall time this thread's loop was busy. */
  utilization: number;
  /** Whether this thread runs at DRIVER_NICE (else the default priority). */
  niced: boolean;
}

const w = workerData as WorkerInit;
// Raised priority for this thread alone (Linux nice is per thread): see DRIVER_NICE in driver-pool.ts.
let niced = false;
try {
  setPriority(w.nice);
  niced = true;
} catch {
  // not permitted: run at the default priority and report it
}

const network = w.rttMs > 0 || w.jitterMs > 0 ? roundTrip(w.rttMs, w.jitterMs) : undefined;
const sim = await startSimulator({
  port: w.simPort,
  accountSid: w.accountSid,
  authToken: w.authToken,
  ca: w.ca,
  defaultOutcome: { network },
});
const nc = await connect({ servers: w.natsUrl });
const sc = StringCodec();
const events = new Map<string, BusEvent[]>();
const collect = (data: Uint8Array) => {
  try {
    const e = JSON.parse(sc.decode(data)) as BusEvent & { callId: string };
    const list = events.get(e.callId) ?? [];
    list.push(e);
    events.set(e.callId, list);
  } catch {
    /* not JSON: not ours */
  }
};
nc.subscribe("vc.call.*.evt", { callback: (_e, m) => collect(m.data) });
nc.subscribe("bench.limit.*.evt", { callback: (_e, m) => collect(m.data) });
await nc.flush();

function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      w.origin + path,
      {
        method,
        ca: w.ca,
        headers: { authorization: `Bearer ${w.apiToken}`, ...(payload ? { "content-type": "application/json" } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as T });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: text as T });
          }
        });
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const dialOurs: Dial = async (to, greeting, signal) => {
  const created = await api<{ callId: string }>("POST", "/api/calls", { to, mode: "conversation", greeting });
  if (created.status !== 202) throw new Error(`create call: ${created.status} ${JSON.stringify(created.json)}`);
  const phone = await until(() => sim.calls().find((c) => c.to === to), `simulated call to ${to}`, 30_000, signal);
  return { callId: created.json.callId, phone };
};
const dialLimit: Dial = async (to) => {
  const callId = `lim${randomBytes(6).toString("hex")}`;
  const phone = await sim.incoming({
    from: to,
    to: "+15005550006",
    url: `${w.origin}/limit/twiml?callId=${callId}`,
    network,
  });
  return { callId, phone };
};

/** BENCH_DRIVER_PROFILE=dir: a V8 CPU profile of this thread over each batch, one file per target. */
async function startProfile(): Promise<{ stop(target: string): Promise<void> } | undefined> {
  const dir = process.env.BENCH_DRIVER_PROFILE;
  if (!dir) return undefined;
  const s = new Session();
  s.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((res, rej) => s.post(method, params ?? {}, (e, r) => (e ? rej(e) : res(r))));
  await post("Profiler.enable");
  await post("Profiler.start");
  return {
    async stop(target) {
      const { profile } = await post("Profiler.stop");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `driver-${target}-${threadId}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
      s.disconnect();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
parentPort!.on("message", async (m: RunRequest | "stop") => {
  if (m === "stop") {
    await sim.stop().catch(() => undefined);
    await nc.drain().catch(() => undefined);
    parentPort!.postMessage("stopped");
    process.exit(0); // ends this thread only (and writes its --cpu-prof profile)
  }
  const prof = await startProfile();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const elu0 = performance.eventLoopUtilization();
  const signal = AbortSignal.timeout(m.timeoutMs);
  const dial = m.target === "ours" ? dialOurs : dialLimit;
  const results = await Promise.all(
    m.indices.map(async (index, k) => {
      await sleep(m.delays[k]!);
      return driveCall({
        dial,
        events,
        audio: m.audio,
        index,
        greeting: m.greeting,
        durationMs: m.durationMs,
        withNoises: m.withNoises,
        signal,
      });
    }),
  );
  lag.disable();
  await prof?.stop(m.target);
  const out: RunResult = {
    results,
    // monitorEventLoopDelay records the whole 10 ms timer interval: the lag is what is above it.
    lagP99Ms: Math.max(0, Math.round(lag.percentile(99) / 1e5 - 100) / 10),
    lagMaxMs: Math.max(0, Math.round(lag.max / 1e5 - 100) / 10),
    utilization: Math.round(performance.eventLoopUtilization(elu0).utilization * 100) / 100,
    niced,
  };
  for (const r of results) if (r.callId) events.delete(r.callId);
  parentPort!.postMessage(out);
});
parentPort!.postMessage("ready");
