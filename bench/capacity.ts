import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { twilioSignature, mintStreamToken } from "@voicecall/auth";
import { connectBus } from "@voicecall/bus";
import { CallStore, connectRedis } from "@voicecall/store";
import { audioHeaderRecord, subjects } from "@voicecall/contracts";
import { FRAME_BYTES, MULAW_SILENCE } from "@voicecall/audio";
import { freePort, startProc, startStack, testLogger, waitFor, type Proc } from "@voicecall/testkit";
import { synthesize } from "@voicecall/twilio-sim";
import { trimSilence } from "./audio";
import { cpuShare, sampleProc } from "./proc-stats";
import { lagP99Ms, RawStream, scrapeWorker, startCountingDeepgram, TICK } from "./capacity-streams";

export interface CapacityStep {
  streams: number;
  /** Event-loop lag p99 inside the worker over the step: prom-client `nodejs_eventloop_lag_p99_seconds` minus its 10 ms resolution. */
  lagP99Ms: number;
  cpuCores: number;
  rssMB: number;
  /** The same RSS in KB (the slope over steps needs more than whole MB). */
  rssKB: number;
  /** Outbound media frames the driver received per stream per second (50 = real time while agent audio plays). */
  framesOutPerS: number;
  /** V8 heap in use and external (ArrayBuffer) memory at the step's end (MB), from the worker's `/metrics`. */
  heapUsedMB?: number;
  externalMB?: number;
}

export interface CapacityReport {
  lagLimitMs: number;
  pinnedCore: string;
  traffic: string;
  maxStreamsWithinLag: number;
  stoppedAt: number;
  stopReason: string;
  cpuPerStreamPct: number;
  rssPerStreamKB: number;
  /**
   * Steady-state memory per stream: the least-squares slope of RSS over the ramp's steps (streams > 0), so
   * the worker's one-off growth on its first streams (JIT code, heap and wasm reservations) is left out.
   * Absent with fewer than two steps.
   */
  rssMarginalKB?: number;
  idleRssMB: number;
  steps: CapacityStep[];
  /** Streams within the lag limit on the one pinned core. */
  streamsPerCore: number;
  /** The same ramp against the bare relay (bench/limit/relay.ts), when run. */
  relay?: {
    streamsPerCore: number;
    cpuPerStreamPct: number;
    rssPerStreamKB: number;
    rssMarginalKB?: number;
    stopReason: string;
    steps: CapacityStep[];
  };
}

export interface CapacityOptions {
  step: number;
  max: number;
  stepS: number;
  lagLimitMs: number;
  /** Pin the worker to core 1 and the driver to core 0 (taskset); default true. */
  pin?: boolean;
  /** Write a V8 CPU profile of the worker here (node --cpu-prof), for the hot-path analysis. */
  profileDir?: string;
  /** Extra media environment (`--media-env KEY=VALUE`), e.g. a playout setting to compare. */
  mediaEnv?: Record<string, string>;
  /** List the worker's GC pauses of 5 ms or more (a preload observing `gc` performance entries). */
  gcTrace?: boolean;
  /** Also ramp the bare relay (bench/limit/relay.ts) on the same core, for ours ÷ relay; default true. */
  relay?: boolean;
  log: (l: string) => void;
}

const GC_PRELOAD = new URL("./gc-preload.mjs", import.meta.url).pathname;
const PRELOAD = new URL("./cpu-prof-preload.mjs", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RELAY = fileURLToPath(new URL("./limit/relay.ts", import.meta.url));
/** Caller: speaks the question, then is silent, in a loop of this length (phase random per stream). */
const LOOP_MS = 8000;
/** Agent: a 2 s utterance every LOOP_MS, published on the bus as tts would (10 chunks of 200 ms). */
const AGENT_MS = 2000;

interface Ramp {
  steps: CapacityStep[];
  stopReason: string;
  good?: CapacityStep;
  idleRss: number;
}

/** Ramp raw streams at one media worker (pinned to one core when taskset exists) until its event loop lags. */
export async function runCapacity(o: CapacityOptions): Promise<CapacityReport> {
  const { log: quiet } = testLogger("bench", "warn");
  const dgKey = "bench-capacity-key";
  const dg = await startCountingDeepgram(dgKey);
  o.log(`[capacity] starting NATS, Redis and one media worker`);
  const stack = await startStack({
    services: ["media"],
    env: { LOG_LEVEL: "warn" },
    serviceEnv: {
      media: {
        STT_PROVIDER: "deepgram",
        DEEPGRAM_API_KEY: dgKey,
        DEEPGRAM_URL: dg.url,
        MAX_PENDING_PER_ADDRESS: "5000",
        MAX_PENDING_TOTAL: "5000",
        STREAM_START_TIMEOUT_MS: "30000",
        FLOOD_BURST: "5000",
        ...o.mediaEnv,
        // A `--media-env NODE_OPTIONS=…` (a V8 heap setting to compare) is kept beside the bench's preloads.
        NODE_OPTIONS: [
          o.mediaEnv?.NODE_OPTIONS ?? "",
          o.profileDir ? `--import ${PRELOAD}` : "",
          o.gcTrace ? `--import ${GC_PRELOAD}` : "",
        ]
          .join(" ")
          .trim(),
        ...(o.profileDir ? { BENCH_PROFILE_DIR: o.profileDir } : {}),
      },
    },
  });
  const redis = connectRedis(stack.servers.redisUrl, quiet, "bench");
  const store = new CallStore(redis);
  const bus = await connectBus({ url: stack.servers.natsUrl, name: "bench", log: quiet });
  const media = stack.get("media");
  let relay: Proc | undefined;
  const pin = (pid: number): string => {
    if (o.pin === false) return "not pinned";
    try {
      execFileSync("taskset", ["-a", "-cp", "1", String(pid)], { stdio: "ignore" });
      execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
      return "server on core 1, driver on core 0";
    } catch {
      return "not pinned (no taskset)"; // both float
    }
  };
  const publicHost = new URL(stack.origin).host;
  const sig = twilioSignature(stack.secrets.TWILIO_AUTH_TOKEN, `wss://${publicHost}/voice/stream`, {});
  const speech = trimSilence(await synthesize("what are your opening hours"));
  const frames: string[] = [];
  for (let off = 0; off < LOOP_MS * 8; off += FRAME_BYTES) {
    const f =
      off < speech.length ? speech.subarray(off, off + FRAME_BYTES) : new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
    const full =
      f.length === FRAME_BYTES
        ? f
        : Uint8Array.from([...f, ...new Uint8Array(FRAME_BYTES - f.length).fill(MULAW_SILENCE)]);
    frames.push(Buffer.from(full).toString("base64"));
  }
  const ramp = async (name: string, port: number, pid: number, metricsUrl: string): Promise<Ramp> => {
    const streams: RawStream[] = [];
    const ticker = setInterval(() => {
      const now = Date.now();
      for (const s of streams) s.tick(now);
    }, TICK);
    let agentGen = 0;
    const agentTimer = setInterval(() => {
      // Each stream's agent speaks once per loop, at its own phase: 1/(LOOP_MS/TICK) of them per tick.
      const slot = Math.floor(Date.now() / 250) % (LOOP_MS / 250);
      for (let i = 0; i < streams.length; i++) {
        if (i % (LOOP_MS / 250) !== slot || !streams[i]!.live) continue;
        const s = streams[i]!;
        const id = `u${++agentGen}`;
        const audio = new Uint8Array(AGENT_MS * 8).fill(0x7e);
        for (let c = 0; c < 10; c++)
          bus.publishBinary(
            subjects.audio(s.callId),
            audio.subarray(c * 1600, (c + 1) * 1600),
            audioHeaderRecord({
              callId: s.callId,
              utteranceId: id,
              seq: c,
              last: c === 9,
              generation: agentGen,
              purpose: "reply",
              ...(c === 0 ? { text: "bench" } : {}),
            }),
          );
      }
    }, 250);
    const steps: CapacityStep[] = [];
    let stopReason = `reached --capacity-max ${o.max}`;
    const idle = sampleProc(pid)!;
    try {
      await lagP99Ms(metricsUrl);
      await sleep(o.stepS * 1000);
      const { lagP99Ms: baseline, heapUsedMB, externalMB } = await scrapeWorker(metricsUrl);
      steps.push({
        streams: 0,
        lagP99Ms: baseline,
        heapUsedMB,
        externalMB,
        cpuCores: Math.round(cpuShare(idle, sampleProc(pid)!) * 100) / 100,
        rssMB: Math.round(idle.rss / 1048576),
        rssKB: Math.round(idle.rss / 1024),
        framesOutPerS: 0,
      });
      o.log(`[capacity ${name}] idle: lag p99 ${baseline} ms (the machine's own scheduling noise)`);
      while (streams.length < o.max) {
        const add = Math.min(o.step, o.max - streams.length);
        for (let i = 0; i < add; i++) {
          const callId = `cap${randomBytes(6).toString("hex")}`;
          const callSid = `CA${randomBytes(16).toString("hex")}`;
          await store.createCall({
            callId,
            callSid,
            direction: "outbound",
            mode: "conversation",
            from: "+15005550006",
            to: "+14155550100",
            state: "in-progress",
          });
          const token = mintStreamToken(stack.secrets.STREAM_TOKEN_SECRET, callId, callSid, 600_000);
          streams.push(
            new RawStream(
              `ws://127.0.0.1:${port}/voice/stream`,
              sig,
              callId,
              callSid,
              token,
              frames,
              Math.floor(Math.random() * frames.length),
              stack.secrets.TWILIO_ACCOUNT_SID,
            ),
          );
        }
        await sleep(1500); // let the new streams start
        await lagP99Ms(metricsUrl); // resets the lag histogram
        if (o.profileDir && name === "media") process.kill(pid, "SIGUSR2"); // profile only the steady state of this step
        const a = sampleProc(pid)!;
        const out0 = streams.reduce((n, s) => n + s.framesOut, 0);
        await sleep(o.stepS * 1000);
        const { lagP99Ms: lag, heapUsedMB, externalMB } = await scrapeWorker(metricsUrl);
        if (o.profileDir && name === "media") process.kill(pid, "SIGUSR2");
        const b = sampleProc(pid)!;
        const out1 = streams.reduce((n, s) => n + s.framesOut, 0);
        const live = streams.filter((s) => s.live).length;
        const step: CapacityStep = {
          streams: live,
          lagP99Ms: lag,
          cpuCores: Math.round(cpuShare(a, b) * 100) / 100,
          rssMB: Math.round(b.rss / 1048576),
          rssKB: Math.round(b.rss / 1024),
          framesOutPerS: Math.round(((out1 - out0) / (o.stepS * Math.max(1, live))) * 10) / 10,
          heapUsedMB,
          externalMB,
        };
        steps.push(step);
        o.log(
          `[capacity ${name}] ${live} streams: lag p99 ${lag} ms, ${step.cpuCores} cores, RSS ${step.rssMB} MB (heap ${heapUsedMB}, external ${externalMB})`,
        );
        if (live < streams.length * 0.95) {
          stopReason = `only ${live} of ${streams.length} streams live`;
          break;
        }
        // One step over the limit can be another process on the shared core: stop on two in a row.
        const prev = steps.at(-2);
        if (lag > o.lagLimitMs && prev && prev.streams > 0 && prev.lagP99Ms > o.lagLimitMs) {
          stopReason = `lag p99 ${prev.lagP99Ms} and ${lag} ms > ${o.lagLimitMs} ms on two steps in a row`;
          break;
        }
      }
    } finally {
      clearInterval(ticker);
      clearInterval(agentTimer);
      for (const s of streams) s.close();
    }
    // The largest step within the limit before the final pair of steps over it.
    const cut = stopReason.includes("two steps") ? steps.length - 2 : steps.length;
    return {
      steps,
      stopReason,
      idleRss: idle.rss,
      good: steps
        .slice(0, cut)
        .filter((s) => s.streams > 0 && s.lagP99Ms <= o.lagLimitMs)
        .at(-1),
    };
  };
  const perStream = (r: Ramp) => ({
    cpuPerStreamPct: r.good ? Math.round((r.good.cpuCores / r.good.streams) * 10000) / 100 : 0,
    rssPerStreamKB: r.good ? Math.round(((r.good.rssMB * 1048576 - r.idleRss) / 1024 / r.good.streams) * 10) / 10 : 0,
    rssMarginalKB: rssSlopeKB(r.steps),
  });
  let ours: Ramp;
  let bare: Ramp | undefined;
  const pinnedCore = pin(media.proc.child.pid!);
  try {
    ours = await ramp("media", media.port, media.proc.child.pid!, `${media.url}/metrics`);
    if (o.profileDir || o.gcTrace) {
      const pauses = media
        .logs()
        .split("\n")
        .filter((l) => l.startsWith("bench-gc "));
      if (o.gcTrace) o.log(`[capacity] worker GC pauses ≥ 5 ms: ${pauses.length}\n${pauses.slice(-15).join("\n")}`);
    }
    if (o.relay !== false) {
      const port = await freePort();
      relay = startProc(
        process.execPath,
        ["--import", "tsx", RELAY],
        {
          ...process.env,
          PORT: String(port),
          NATS_URL: stack.servers.natsUrl,
          DEEPGRAM_URL: dg.url,
          DEEPGRAM_API_KEY: dgKey,
        },
        fileURLToPath(new URL("..", import.meta.url)),
      );
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok,
        "bare relay ready",
        60_000,
        100,
      );
      pin(relay.child.pid!);
      o.log(`[capacity] the bare relay, same core, same traffic`);
      bare = await ramp("relay", port, relay.child.pid!, `http://127.0.0.1:${port}/metrics`);
    }
  } finally {
    await relay?.stop().catch(() => undefined);
    await bus.drain().catch(() => undefined);
    redis.disconnect();
    await stack.stop();
    await dg.close();
  }
  return {
    lagLimitMs: o.lagLimitMs,
    pinnedCore,
    traffic: `per stream: 50 inbound frames/s (speech ${Math.round(speech.length / 8)} ms every ${LOOP_MS} ms, WebRTC VAD, Deepgram-protocol STT streaming every frame) and a ${AGENT_MS} ms agent utterance every ${LOOP_MS} ms (bus → paced playout with marks)`,
    maxStreamsWithinLag: ours.good?.streams ?? 0,
    stoppedAt: ours.steps.at(-1)?.streams ?? 0,
    stopReason: ours.stopReason,
    ...perStream(ours),
    idleRssMB: Math.round(ours.idleRss / 1048576),
    steps: ours.steps,
    streamsPerCore: ours.good?.streams ?? 0,
    relay: bare
      ? { streamsPerCore: bare.good?.streams ?? 0, stopReason: bare.stopReason, steps: bare.steps, ...perStream(bare) }
      : undefined,
  };
}

/** KB of RSS per added stream: the least-squares slope over the steps with streams (undefined with < 2). */
export function rssSlopeKB(steps: Pick<CapacityStep, "streams" | "rssKB">[]): number | undefined {
  const pts = steps.filter((s) => s.streams > 0);
  if (pts.length < 2) return undefined;
  const mx = pts.reduce((a, s) => a + s.streams, 0) / pts.length;
  const my = pts.reduce((a, s) => a + s.rssKB, 0) / pts.length;
  const sxx = pts.reduce((a, s) => a + (s.streams - mx) ** 2, 0);
  if (!sxx) return undefined;
  const sxy = pts.reduce((a, s) => a + (s.streams - mx) * (s.rssKB - my), 0);
  return Math.round((sxy / sxx) * 10) / 10;
}
