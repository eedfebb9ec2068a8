import { cpus, setPriority } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { CallStore } from "@voicecall/store";
import { connectBus } from "@voicecall/bus";
import { testLogger } from "@voicecall/testkit";
import { synthesize } from "@voicecall/twilio-sim";
import { MediaConfigSchema } from "../services/media/src/config";
import { callerAudio, trimSilence } from "./audio";
import { countWire } from "./wire";
import type { CallResult } from "./calls";
import { LLM_REPLY } from "./fakes";
import { startVendors, type Vendors } from "./vendors";
import { startBenchStack, type BenchStack } from "./bench-stack";
import { DRIVER_NICE, type DriverLag } from "./driver-pool";
import { hopWatch, type Hops } from "./hops";
import { cpuShare, pidListening, sampleProc, type ProcSample } from "./proc-stats";
import { lagP99Ms } from "./capacity-streams";
import { dist, type Dist } from "./stats";
import { noiseReport, type NoiseReport } from "./noise-report";

const PROFILE_PRELOAD = new URL("./cpu-prof-preload.mjs", import.meta.url).pathname;

export type ScenarioName = "instant" | "offline";

export interface ScenarioOptions {
  scenario: ScenarioName;
  /** Concurrent calls of each run; every count runs against ours, then the limit, on the same stack. */
  calls: number[];
  /** Seconds each call keeps taking turns after its greeting (at least one turn). */
  durationS: number;
  mediaReplicas: number;
  /** Gap between call starts (ms): a ramp, so the start-up burst does not dominate. */
  staggerMs: number;
  /** Extra media environment, applied last. */
  mediaEnv?: Record<string, string>;
  /** The simulated network to Twilio's media edge (ms). */
  rttMs: number;
  jitterMs: number;
  /** Driver worker threads (simulated callers); default the core count. */
  workers?: number;
  /** Skip the limit runs. */
  noLimit?: boolean;
  /** V8 CPU profile of every service over each of ours' runs, written here (`--profile DIR`). */
  profileDir?: string;
  log: (line: string) => void;
}

/** What the driver measured of one run, ours or the limit's. */
export interface Measured {
  calls: { requested: number; ok: number; failed: number; endedByAgent: number; errors: string[] };
  greetingMs: Dist;
  greetingStartMs: Dist;
  greetingDeliverMs: Dist;
  overheadMs: Dist;
  voiceToVoiceMs: Dist;
  bargeInMs: Dist;
  bargeInAfterVadMs: Dist;
  /** Onset → clear minus the policy's own hold (BARGE_IN_HOLD_MS). */
  bargeInOverheadMs: Dist;
  underrunsPerCall: number;
  underrunMs: Dist;
  heardSeconds: number;
  /** The simulated callers (worker threads): when they lag, every "heard" number is inflated. */
  /**
   * The bench's main thread (the event watch) and the vendor stand-ins' thread (STT, LLM, TTS: the LLM and
   * TTS fakes sit on ours' reply path, the STT fake on both runs'), event-loop lag p99 (ms).
   */
  driver: DriverLag & { cpuCores: number; mainLagP99Ms: number; vendorLagP99Ms: number };
  /** Mean CPU (cores) of each server process over the calls (ours: the services; the limit: its one process). */
  serviceCpuCores: Record<string, number>;
  wallSeconds: number;
}

export interface ScenarioReport extends Measured {
  scenario: ScenarioName;
  providers: Record<string, string>;
  /** Each service's event-loop lag p99 over ours' run (prom-client, net of its 10 ms resolution). */
  serviceLagP99Ms: Record<string, number>;
  /** media's own record (store.recordTurn): stream start → first greeting frame sent. */
  greetingSentMs: Dist;
  /** media's own record: transcript.final → first reply frame sent. */
  overheadSentMs: Dist;
  /** The greeting hop by hop (bench/hops.ts). */
  hops: Hops;
  /** The same calls against the limit server (null with --no-limit). */
  limit: Measured | null;
  playedErrorMs: Dist;
  reportedErrorMs: Dist;
  network: { rttMs: number; jitterMs: number; leadMs: number };
  falseInterruptionsPerCall: number | null;
  interruptionsPerNoise: number | null;
  resumedShare: number | null;
  noisesPerCall: number | null;
  noises: NoiseReport | null;
  media: {
    peakCpuCores: number;
    cpuPerCallMs: number;
    rssIdleMB: number;
    rssPeakMB: number;
    rssPerCallKB: number;
  } | null;
  wire: {
    callSeconds: number;
    redisOpsPerCallS: number;
    natsMsgsPerCallS: number;
    natsBytesPerCallS: number;
    natsMsgsPerCallSBySubject: Record<string, number>;
    redisOpsPerCallSByCommand: Record<string, number>;
  };
}

/** The barge-in policy pauses once BARGE_IN_MIN_SPEECH_MS (default 200) of stream audio from the onset frame is in: 9 frames after it. */
export const BARGE_IN_HOLD_MS = 200 - 20;
const GREETING = "Hello, thanks for calling Acme Dental. How can I help?";

function measure(
  results: CallResult[],
  calls: number,
  driver: Measured["driver"],
  serviceCpuCores: Record<string, number>,
  wallMs: number,
): Measured {
  const ok = results.filter((r) => r.ok);
  const flat = (f: (r: CallResult) => number[]) => results.flatMap(f);
  return {
    calls: {
      requested: calls,
      ok: ok.length,
      failed: results.length - ok.length,
      endedByAgent: results.filter((r) => r.endedByAgent).length,
      errors: [...new Set(results.filter((r) => r.error).map((r) => r.error!))].slice(0, 5),
    },
    greetingMs: dist(results.map((r) => r.greetingMs ?? NaN)),
    greetingStartMs: dist(results.map((r) => r.greetingStartMs ?? NaN)),
    greetingDeliverMs: dist(results.map((r) => r.greetingDeliverMs ?? NaN)),
    overheadMs: dist(flat((r) => r.overheadMs)),
    voiceToVoiceMs: dist(flat((r) => r.voiceToVoiceMs)),
    bargeInMs: dist(flat((r) => r.bargeInMs)),
    bargeInAfterVadMs: dist(flat((r) => r.bargeInAfterVadMs)),
    bargeInOverheadMs: dist(flat((r) => r.bargeInMs.map((x) => x - BARGE_IN_HOLD_MS))),
    underrunsPerCall: results.length ? results.reduce((a, r) => a + r.underruns, 0) / results.length : 0,
    underrunMs: dist(flat((r) => r.underrunMs)),
    heardSeconds: Math.round(results.reduce((a, r) => a + r.heardMs, 0) / 1000),
    driver,
    serviceCpuCores,
    wallSeconds: Math.round(wallMs / 1000),
  };
}

/** CPU of `procs` and of this process (the driver threads) while `fn` runs. */
async function timed<T>(
  procs: { name: string; pid: number }[],
  vendors: Vendors,
  fn: () => Promise<T>,
): Promise<{
  value: T;
  cores: Record<string, number>;
  driverCores: number;
  mainLagP99Ms: number;
  vendorLagP99Ms: number;
  wallMs: number;
}> {
  await vendors.lagP99Ms(); // resets its histogram: the next read covers this run
  const since = Date.now();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const a = procs.map((p) => sampleProc(p.pid));
  const cpu0 = process.cpuUsage();
  const value = await fn();
  const cpu1 = process.cpuUsage(cpu0);
  lag.disable();
  const vendorLagP99Ms = await vendors.lagP99Ms();
  // Net of the sampling timer's own 10 ms, as the driver threads report theirs.
  const mainLagP99Ms = Math.round(Math.max(0, lag.percentile(99) / 1e6 - 10) * 10) / 10;
  const wallMs = Date.now() - since;
  const cores: Record<string, number> = {};
  procs.forEach((p, i) => {
    const b = sampleProc(p.pid);
    // Thousandths: at 20 calls a service's 0.07 cores rounded to hundredths is ±7 % of its CPU per call.
    if (a[i] && b) cores[p.name] = Math.round(cpuShare(a[i]!, b) * 1000) / 1000;
  });
  return {
    value,
    cores,
    driverCores: Math.round(((cpu1.user + cpu1.system) / 1000 / wallMs) * 100) / 100,
    mainLagP99Ms,
    vendorLagP99Ms,
    wallMs,
  };
}

/** The whole stack plus vendor stand-ins, N concurrent calls through Caddy TLS, and the numbers: ours, then the limit's. */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioReport[]> {
  const instant = o.scenario === "instant";
  const audio = await callerAudio(!instant);
  let b: BenchStack | undefined;
  const dgKey = "bench-deepgram-key";
  // The limit needs an STT socket in both scenarios; instant's stack uses the same one.
  const vendors: Vendors = await startVendors({
    dgKey,
    ttsText: instant
      ? "We are open Monday to Friday from nine to six. Is there anything else I can help you with?"
      : undefined,
  });
  const dg = { url: vendors.dgUrl };
  const providers: Record<string, string> = instant
    ? {
        vad: "webrtc",
        stt: "deepgram protocol (local fake, final on Finalize)",
        tts: "elevenlabs protocol (local fake, all audio at once)",
        llm: "openai protocol (local SSE, instant)",
      }
    : { vad: "webrtc", stt: "pocketsphinx (script grammar)", tts: "local flite", llm: "builtin script" };
  const { log: quiet } = testLogger("bench", "warn");
  try {
    const maxCalls = Math.max(...o.calls);
    const serviceEnv: Record<string, Record<string, string>> = {
      gateway: { MAX_CONCURRENT_CALLS: String(Math.max(50, maxCalls * 2)) },
      media: { MAX_PENDING_PER_ADDRESS: "5000", MAX_PENDING_TOTAL: "5000" },
      tts: {},
      agent: { SILENCE_REPROMPT_MS: "60000" },
    };
    if (instant) {
      const tts = vendors.tts!;
      Object.assign(serviceEnv.tts!, {
        TTS_PROVIDER: "elevenlabs",
        TTS_FALLBACK_PROVIDER: "none",
        ELEVENLABS_API_KEY: tts.apiKey,
        ELEVENLABS_URL: tts.url,
      });
      Object.assign(serviceEnv.media!, { STT_PROVIDER: "deepgram", DEEPGRAM_API_KEY: dgKey, DEEPGRAM_URL: dg.url });
      Object.assign(serviceEnv.agent!, {
        LLM_PROVIDER: "openai",
        LLM_BASE_URL: vendors.llmUrl!,
        LLM_API_KEY: "bench",
        LLM_MODEL: "bench",
      });
    }
    Object.assign(serviceEnv.media!, o.mediaEnv ?? {});
    if (o.profileDir)
      for (const [name, env] of Object.entries(serviceEnv))
        Object.assign(env, {
          NODE_OPTIONS: `--import ${PROFILE_PRELOAD}`,
          BENCH_PROFILE_DIR: o.profileDir,
          BENCH_PROFILE_NAME: name,
        });
    for (const [k, val] of Object.entries(o.mediaEnv ?? {})) providers[`media ${k}`] = val;
    const workers = o.workers ?? Math.max(1, cpus().length);
    o.log(
      `[${o.scenario}] starting the stack (${o.mediaReplicas} media worker${o.mediaReplicas > 1 ? "s" : ""}), the limit server and ${workers} driver threads`,
    );
    const limitAudio = {
      greeting: trimSilence(await synthesize(GREETING)),
      reply: trimSilence(await synthesize(LLM_REPLY.join(""))),
    };
    b = await startBenchStack({
      mediaReplicas: o.mediaReplicas,
      env: { LOG_LEVEL: "warn" },
      serviceEnv,
      workers,
      rttMs: o.rttMs,
      jitterMs: o.jitterMs,
      limitAudio,
      dgUrl: dg.url,
      dgKey,
    });
    const { stack, pool } = b;
    // This thread only watches (events, hop stamps, wire counts): it runs at the driver's priority too, set
    // after every process is spawned (a child inherits its parent thread's nice, and the services keep 0).
    try {
      setPriority(DRIVER_NICE);
    } catch {
      // not permitted: the driver line says so for its threads
    }
    const store = new CallStore(b.redis);
    const bus = await connectBus({ url: stack.servers.natsUrl, name: "bench", log: quiet });
    const hops = await hopWatch(bus.nc);
    const base = { greeting: GREETING, withNoises: !instant, audio, timeoutMs: o.durationS * 1000 + 180_000 };
    // Warm-up: one call each renders the greeting into the cache and warms every connection pool.
    for (const target of ["ours", "limit"] as const) {
      if (target === "limit" && o.noLimit) continue;
      const warm = await pool.run({ ...base, target, calls: 1, staggerMs: 0, firstIndex: 99_000, durationMs: 0 });
      if (!warm.results[0]?.ok) throw new Error(`${target} warm-up call failed: ${warm.results[0]?.error}`);
    }
    const procs = stack.all().map((h) => ({ name: h.instance, pid: h.proc.child.pid! }));
    // The servers every call crosses, so a saturated machine shows where its cores went.
    const servers = [
      ["caddy", stack.servers.caddy?.httpsPort],
      ["nats", stack.servers.natsPort],
      ["redis", stack.servers.redisPort],
    ] as const;
    const serverProcs = servers.flatMap(([name, port]) => {
      const pid = port ? pidListening(port) : undefined;
      return pid ? [{ name, pid }] : [];
    });
    const serviceLag = async () =>
      Object.fromEntries(
        await Promise.all(
          stack.all().map(async (h) => [h.instance, await lagP99Ms(`${h.url}/metrics`).catch(() => NaN)] as const),
        ),
      );
    const mediaPids = stack.services.media.map((m) => m.proc.child.pid!).filter(Boolean);
    const out: ScenarioReport[] = [];
    let firstIndex = 0;
    for (const calls of o.calls) {
      o.log(`[${o.scenario}] ${calls} calls, ${o.durationS} s of turns each: ours`);
      hops.reset();
      const idle = mediaPids.map((pid) => sampleProc(pid)).filter((s): s is ProcSample => !!s);
      const peaks = { cpu: 0, rss: idle.reduce((a, s) => a + s.rss, 0) };
      let last = idle;
      const sampler = setInterval(() => {
        const now = mediaPids.map((pid) => sampleProc(pid)).filter((s): s is ProcSample => !!s);
        if (now.length === last.length && now.length)
          peaks.cpu = Math.max(
            peaks.cpu,
            now.reduce((a, s, i) => a + cpuShare(last[i]!, s), 0),
          );
        peaks.rss = Math.max(
          peaks.rss,
          now.reduce((a, s) => a + s.rss, 0),
        );
        last = now;
      }, 1000);
      const since = Date.now();
      const wire = await countWire(bus.nc, b.redis);
      // Each SIGUSR2 writes the profile so far and starts a new one: the second covers ours' run alone.
      const profileMark = () => o.profileDir && procs.forEach((p) => process.kill(p.pid, "SIGUSR2"));
      profileMark();
      await serviceLag(); // prom-client resets its lag histogram on each read: the next read covers ours' run
      const ours = await timed([...procs, ...serverProcs], vendors, () =>
        pool.run({
          ...base,
          target: "ours",
          calls,
          staggerMs: o.staggerMs,
          firstIndex,
          durationMs: o.durationS * 1000,
        }),
      );
      firstIndex += calls;
      const lagOurs = await serviceLag();
      profileMark();
      const counted = await wire.stop();
      clearInterval(sampler);
      const end = mediaPids.map((pid) => sampleProc(pid)).filter((s): s is ProcSample => !!s);
      const results = ours.value.results;
      const turns = await store.turns(since);
      const ids = new Set(results.map((r) => r.callId));
      const mine = turns.filter((t) => ids.has(t.callId));
      const greetingSent = new Map(mine.filter((t) => t.kind === "greeting").map((t) => [t.callId, t.ts]));
      let limit: Measured | null = null;
      if (!o.noLimit) {
        o.log(`[${o.scenario}] ${calls} calls: the limit`);
        const lim = await timed([{ name: "limit", pid: b.limitPid }, ...serverProcs], vendors, () =>
          pool.run({
            ...base,
            target: "limit",
            calls,
            staggerMs: o.staggerMs,
            firstIndex,
            durationMs: o.durationS * 1000,
          }),
        );
        firstIndex += calls;
        limit = measure(
          lim.value.results,
          calls,
          {
            ...lim.value.driver,
            cpuCores: lim.driverCores,
            mainLagP99Ms: lim.mainLagP99Ms,
            vendorLagP99Ms: lim.vendorLagP99Ms,
          },
          lim.cores,
          lim.wallMs,
        );
      }
      const measured = measure(
        results,
        calls,
        {
          ...ours.value.driver,
          cpuCores: ours.driverCores,
          mainLagP99Ms: ours.mainLagP99Ms,
          vendorLagP99Ms: ours.vendorLagP99Ms,
        },
        ours.cores,
        ours.wallMs,
      );
      const cpuMs = end.reduce((a, s) => a + s.cpuMs, 0) - idle.reduce((a, s) => a + s.cpuMs, 0);
      const idleRss = idle.reduce((a, s) => a + s.rss, 0);
      const noises = results.reduce((a, r) => a + r.noises, 0);
      const callPhaseS = (calls * ours.wallMs) / 1000;
      const perCallS = (n: number) => Math.round((n / callPhaseS) * 100) / 100;
      const flat = (f: (r: CallResult) => number[]) => results.flatMap(f);
      out.push({
        scenario: o.scenario,
        providers,
        ...measured,
        greetingSentMs: dist(mine.filter((t) => t.kind === "greeting").map((t) => t.latencyMs)),
        overheadSentMs: dist(mine.filter((t) => t.kind === "reply").map((t) => t.latencyMs)),
        hops: hops.split(
          results,
          greetingSent,
          mine
            .filter((t) => t.kind === "reply")
            .map((t) => ({ callId: t.callId, finalAt: t.ts - t.latencyMs, sentAt: t.ts })),
        ),
        serviceLagP99Ms: lagOurs,
        limit,
        playedErrorMs: dist(flat((r) => r.playedErrorMs.map(Math.abs))),
        reportedErrorMs: dist(flat((r) => r.reportedErrorMs)),
        network: {
          rttMs: o.rttMs,
          jitterMs: o.jitterMs,
          leadMs: Number(serviceEnv.media!.PLAYOUT_LEAD_MS ?? MediaConfigSchema.shape.PLAYOUT_LEAD_MS.parse(undefined)),
        },
        falseInterruptionsPerCall: instant
          ? null
          : results.reduce((a, r) => a + r.interruptions, 0) / Math.max(1, results.length),
        interruptionsPerNoise: instant || !noises ? null : results.reduce((a, r) => a + r.interruptions, 0) / noises,
        resumedShare: instant
          ? null
          : results.reduce((a, r) => a + r.falseInterruptions, 0) /
            Math.max(
              1,
              results.reduce((a, r) => a + r.interruptions, 0),
            ),
        noisesPerCall: instant ? null : noises / Math.max(1, results.length),
        noises: instant ? null : noiseReport(results),
        media: idle.length
          ? {
              peakCpuCores: Math.round(peaks.cpu * 100) / 100,
              cpuPerCallMs: Math.round(cpuMs / Math.max(1, calls)),
              rssIdleMB: Math.round(idleRss / 1048576),
              rssPeakMB: Math.round(peaks.rss / 1048576),
              rssPerCallKB: Math.round((peaks.rss - idleRss) / 1024 / Math.max(1, calls)),
            }
          : null,
        wire: {
          callSeconds: Math.round(callPhaseS),
          redisOpsPerCallS: perCallS(counted.redisCommands),
          natsMsgsPerCallS: perCallS(counted.natsMsgs),
          natsBytesPerCallS: Math.round(counted.natsBytes / callPhaseS),
          redisOpsPerCallSByCommand: Object.fromEntries(
            Object.entries(counted.redisByCommand)
              .sort((x, y) => y[1] - x[1])
              .map(([k, n]) => [k, perCallS(n)]),
          ),
          natsMsgsPerCallSBySubject: Object.fromEntries(
            Object.entries(counted.natsBySubject).map(([k, n]) => [k, perCallS(n)]),
          ),
        },
      });
    }
    hops.stop();
    await bus.drain().catch(() => undefined);
    return out;
  } finally {
    await b?.stop().catch(() => undefined);
    await vendors.close();
  }
}
