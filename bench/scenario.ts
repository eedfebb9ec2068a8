import { monitorEventLoopDelay } from "node:perf_hooks";
import { startVoiceStack, type VoiceStack } from "@voicecall/testkit";
import { roundTrip } from "@voicecall/twilio-sim";
import { MediaConfigSchema } from "../services/media/src/config";
import { startFakeVendors, type FakeVendors } from "@voicecall/tts/testing";
import { startFakeDeepgram, type FakeDeepgram } from "@voicecall/media/testing";
import { callerAudio } from "./audio";
import { countWire } from "./wire";
import { driveCall, type BusEvent, type CallResult } from "./calls";
import { startInstantLlm, type InstantLlm } from "./fakes";
import { cpuShare, sampleProc, type ProcSample } from "./proc-stats";
import { dist, type Dist } from "./stats";
import { noiseReport, type NoiseReport } from "./noise-report";

export type ScenarioName = "instant" | "offline";

export interface ScenarioOptions {
  scenario: ScenarioName;
  calls: number;
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
  log: (line: string) => void;
}

export interface ScenarioReport {
  scenario: ScenarioName;
  providers: Record<string, string>;
  calls: { requested: number; ok: number; failed: number; endedByAgent: number; errors: string[] };
  greetingMs: Dist;
  greetingStartMs: Dist;
  greetingDeliverMs: Dist;
  /** media's own record (store.recordTurn): stream start → first greeting frame sent. */
  greetingSentMs: Dist;
  overheadMs: Dist;
  /** media's own record: transcript.final → first reply frame sent. */
  overheadSentMs: Dist;
  voiceToVoiceMs: Dist;
  bargeInMs: Dist;
  bargeInAfterVadMs: Dist;
  /** Onset → clear minus the policy's own hold: the media default BARGE_IN_MIN_SPEECH_MS (200) counted from the onset frame, i.e. 180 ms after it is sent. */
  bargeInOverheadMs: Dist;
  underrunsPerCall: number;
  underrunMs: Dist;
  /** Barge-ins: |media's interrupted.playedMs − what the simulated caller heard of that utterance|. */
  playedErrorMs: Dist;
  /** What media said its error was (interrupted.playedErrMs). */
  reportedErrorMs: Dist;
  network: { rttMs: number; jitterMs: number; leadMs: number };
  heardSeconds: number;
  /** Scripted noises/backchannels that paused agent speech, per call, and per noise played over speech. */
  falseInterruptionsPerCall: number | null;
  interruptionsPerNoise: number | null;
  /** Of the paused ones, the share resumed where they stopped. */
  resumedShare: number | null;
  noisesPerCall: number | null;
  /** Per-noise outcomes (offline scenario). */
  noises: NoiseReport | null;
  /** The bench process itself (simulated Twilio for every call): when it lags, every number above is inflated. */
  driver: { lagP99Ms: number; lagMaxMs: number; cpuCores: number };
  /** Mean CPU (cores) of each service process over the calls. */
  serviceCpuCores: Record<string, number>;
  media: { peakCpuCores: number; cpuPerCallMs: number; rssIdleMB: number; rssPeakMB: number; rssPerCallKB: number } | null;
  /**
   * Per call-second (calls × the call phase's wall time): Redis commands the server processed, NATS
   * messages and bytes (subject + payload) published, and NATS messages by subject kind.
   */
  wire: { callSeconds: number; redisOpsPerCallS: number; natsMsgsPerCallS: number; natsBytesPerCallS: number; natsMsgsPerCallSBySubject: Record<string, number> };
  wallSeconds: number;
}

/** The barge-in policy pauses once BARGE_IN_MIN_SPEECH_MS (default 200) of stream audio from the onset frame is in: 9 frames after it. */
export const BARGE_IN_HOLD_MS = 200 - 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The whole stack plus vendor stand-ins, N concurrent calls through Caddy TLS, and the numbers. */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const t0 = Date.now();
  const instant = o.scenario === "instant";
  const audio = await callerAudio(!instant);
  let vendors: FakeVendors | undefined;
  let dg: FakeDeepgram | undefined;
  let llm: InstantLlm | undefined;
  let v: VoiceStack | undefined;
  const providers: Record<string, string> = instant
    ? { vad: "webrtc", stt: "deepgram protocol (local fake, final on Finalize)", tts: "elevenlabs protocol (local fake, all audio at once)", llm: "openai protocol (local SSE, instant)" }
    : { vad: "webrtc", stt: "pocketsphinx (script grammar)", tts: "local flite", llm: "builtin script" };
  try {
    const serviceEnv: Record<string, Record<string, string>> = {
      gateway: { MAX_CONCURRENT_CALLS: String(Math.max(50, o.calls * 2)) },
      media: { MAX_PENDING_PER_ADDRESS: "5000", MAX_PENDING_TOTAL: "5000" },
      tts: {},
      agent: {},
    };
    if (instant) {
      vendors = await startFakeVendors("We are open Monday to Friday from nine to six. Is there anything else I can help you with?");
      vendors.fallbackMode = { kind: "ok", chunks: 8 };
      dg = await startFakeDeepgram({ apiKey: "bench-deepgram-key", transcribe: (mu) => (mu.length > 2400 ? "what are your opening hours" : "") });
      llm = await startInstantLlm();
      Object.assign(serviceEnv.tts!, { TTS_PROVIDER: "elevenlabs", TTS_FALLBACK_PROVIDER: "none", ELEVENLABS_API_KEY: vendors.apiKey, ELEVENLABS_URL: vendors.url });
      Object.assign(serviceEnv.media!, { STT_PROVIDER: "deepgram", DEEPGRAM_API_KEY: "bench-deepgram-key", DEEPGRAM_URL: dg.url });
      Object.assign(serviceEnv.agent!, { LLM_PROVIDER: "openai", LLM_BASE_URL: llm.url, LLM_API_KEY: "bench", LLM_MODEL: "bench", SILENCE_REPROMPT_MS: "60000" });
    } else {
      Object.assign(serviceEnv.agent!, { SILENCE_REPROMPT_MS: "60000" });
    }
    Object.assign(serviceEnv.media!, o.mediaEnv ?? {});
    for (const [k, val] of Object.entries(o.mediaEnv ?? {})) providers[`media ${k}`] = val;
    o.log(`[${o.scenario}] starting the stack (${o.mediaReplicas} media worker${o.mediaReplicas > 1 ? "s" : ""})`);
    const network = o.rttMs > 0 || o.jitterMs > 0 ? roundTrip(o.rttMs, o.jitterMs) : undefined;
    v = await startVoiceStack({ mediaReplicas: o.mediaReplicas, env: { LOG_LEVEL: "warn" }, serviceEnv, sim: { defaultOutcome: { network } } });
    const stack = v;
    const events = new Map<string, BusEvent[]>();
    const sub = stack.bus.nc.subscribe("vc.call.*.evt", {
      callback: (_err, m) => {
        try {
          const e = JSON.parse(new TextDecoder().decode(m.data)) as BusEvent & { callId: string };
          const list = events.get(e.callId) ?? [];
          list.push(e);
          events.set(e.callId, list);
        } catch {
          /* not JSON: not ours */
        }
      },
    });
    const greeting = instant ? "Hello, thanks for calling Acme Dental. How can I help?" : undefined;
    // Warm-up: one call renders the greeting into the cache and warms every connection pool.
    const warm = await driveCall({ v: stack, events, audio, index: 9999, greeting: greeting ?? "Hello, thanks for calling Acme Dental. How can I help?", durationMs: 0, withNoises: false, signal: AbortSignal.timeout(120_000) });
    if (!warm.ok) throw new Error(`warm-up call failed: ${warm.error}`);
    o.log(`[${o.scenario}] warm-up call ok (greeting ${warm.greetingMs} ms); ${o.calls} calls, ${o.durationS} s of turns each`);

    const mediaPids = stack.stack.services.media.map((m) => m.proc.child.pid!).filter(Boolean);
    const idle = mediaPids.map((pid) => sampleProc(pid)).filter((s): s is ProcSample => !!s);
    const peaks = { cpu: 0, rss: idle.reduce((a, s) => a + s.rss, 0) };
    let last = idle;
    const sampler = setInterval(() => {
      const now = mediaPids.map((pid) => sampleProc(pid)).filter((s): s is ProcSample => !!s);
      if (now.length === last.length && now.length) peaks.cpu = Math.max(peaks.cpu, now.reduce((a, s, i) => a + cpuShare(last[i]!, s), 0));
      peaks.rss = Math.max(peaks.rss, now.reduce((a, s) => a + s.rss, 0));
      last = now;
    }, 1000);
    const since = Date.now();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const cpu0 = process.cpuUsage();
    const procs = stack.stack.all().map((h) => ({ name: h.instance, pid: h.proc.child.pid! }));
    const svc0 = procs.map((p) => sampleProc(p.pid));
    const wire = await countWire(stack.bus.nc, stack.store.redis);
    const signal = AbortSignal.timeout(o.durationS * 1000 + 180_000);
    const results: CallResult[] = await Promise.all(
      Array.from({ length: o.calls }, async (_, i) => {
        await sleep(i * o.staggerMs);
        return driveCall({ v: stack, events, audio, index: i, greeting: greeting ?? "Hello, thanks for calling Acme Dental. How can I help?", durationMs: o.durationS * 1000, withNoises: !instant, signal });
      }),
    );
    const counted = await wire.stop();
    clearInterval(sampler);
    lag.disable();
    const cpu1 = process.cpuUsage(cpu0);
    const wallMs = Date.now() - since;
    const serviceCpuCores: Record<string, number> = {};
    procs.forEach((p, i) => {
      const a = svc0[i];
      const b = sampleProc(p.pid);
      if (a && b) serviceCpuCores[p.name] = Math.round(cpuShare(a, b) * 100) / 100;
    });
    const end = mediaPids.map((pid) => sampleProc(pid)).filter((s): s is ProcSample => !!s);
    sub.unsubscribe();
    const turns = await stack.store.turns(since);
    const ids = new Set(results.map((r) => r.callId));
    const mine = turns.filter((t) => ids.has(t.callId));
    const ok = results.filter((r) => r.ok);
    const flat = (f: (r: CallResult) => number[]) => results.flatMap(f);
    const cpuMs = end.reduce((a, s) => a + s.cpuMs, 0) - idle.reduce((a, s) => a + s.cpuMs, 0);
    const idleRss = idle.reduce((a, s) => a + s.rss, 0);
    const noises = results.reduce((a, r) => a + r.noises, 0);
    const callSeconds = results.reduce((a, r) => a + r.heardMs, 0) / 1000;
    const callPhaseS = (o.calls * wallMs) / 1000;
    const perCallS = (n: number) => Math.round((n / callPhaseS) * 100) / 100;
    return {
      scenario: o.scenario,
      providers,
      calls: { requested: o.calls, ok: ok.length, failed: results.length - ok.length, endedByAgent: results.filter((r) => r.endedByAgent).length, errors: [...new Set(results.filter((r) => r.error).map((r) => r.error!))].slice(0, 5) },
      greetingMs: dist(results.map((r) => r.greetingMs ?? NaN)),
      greetingStartMs: dist(results.map((r) => r.greetingStartMs ?? NaN)),
      greetingDeliverMs: dist(results.map((r) => r.greetingDeliverMs ?? NaN)),
      greetingSentMs: dist(mine.filter((t) => t.kind === "greeting").map((t) => t.latencyMs)),
      overheadMs: dist(flat((r) => r.overheadMs)),
      overheadSentMs: dist(mine.filter((t) => t.kind === "reply").map((t) => t.latencyMs)),
      voiceToVoiceMs: dist(flat((r) => r.voiceToVoiceMs)),
      bargeInMs: dist(flat((r) => r.bargeInMs)),
      bargeInAfterVadMs: dist(flat((r) => r.bargeInAfterVadMs)),
      bargeInOverheadMs: dist(flat((r) => r.bargeInMs.map((x) => x - BARGE_IN_HOLD_MS))),
      underrunsPerCall: results.length ? results.reduce((a, r) => a + r.underruns, 0) / results.length : 0,
      underrunMs: dist(flat((r) => r.underrunMs)),
      playedErrorMs: dist(flat((r) => r.playedErrorMs.map(Math.abs))),
      reportedErrorMs: dist(flat((r) => r.reportedErrorMs)),
      network: { rttMs: o.rttMs, jitterMs: o.jitterMs, leadMs: Number(serviceEnv.media!.PLAYOUT_LEAD_MS ?? MediaConfigSchema.shape.PLAYOUT_LEAD_MS.parse(undefined)) },
      heardSeconds: Math.round(callSeconds),
      falseInterruptionsPerCall: instant ? null : results.reduce((a, r) => a + r.interruptions, 0) / Math.max(1, results.length),
      interruptionsPerNoise: instant || !noises ? null : results.reduce((a, r) => a + r.interruptions, 0) / noises,
      resumedShare: instant ? null : results.reduce((a, r) => a + r.falseInterruptions, 0) / Math.max(1, results.reduce((a, r) => a + r.interruptions, 0)),
      noisesPerCall: instant ? null : noises / Math.max(1, results.length),
      noises: instant ? null : noiseReport(results),
      driver: {
        // monitorEventLoopDelay records the whole 10 ms timer interval: the lag is what is above it.
        lagP99Ms: Math.max(0, Math.round(lag.percentile(99) / 1e5 - 100) / 10),
        lagMaxMs: Math.max(0, Math.round(lag.max / 1e5 - 100) / 10),
        cpuCores: Math.round(((cpu1.user + cpu1.system) / 1000 / wallMs) * 100) / 100,
      },
      serviceCpuCores,
      media: idle.length
        ? {
            peakCpuCores: Math.round(peaks.cpu * 100) / 100,
            cpuPerCallMs: Math.round(cpuMs / Math.max(1, o.calls)),
            rssIdleMB: Math.round(idleRss / 1048576),
            rssPeakMB: Math.round(peaks.rss / 1048576),
            rssPerCallKB: Math.round((peaks.rss - idleRss) / 1024 / Math.max(1, o.calls)),
          }
        : null,
      wire: {
        callSeconds: Math.round(callPhaseS),
        redisOpsPerCallS: perCallS(counted.redisCommands),
        natsMsgsPerCallS: perCallS(counted.natsMsgs),
        natsBytesPerCallS: Math.round(counted.natsBytes / callPhaseS),
        natsMsgsPerCallSBySubject: Object.fromEntries(Object.entries(counted.natsBySubject).map(([k, n]) => [k, perCallS(n)])),
      },
      wallSeconds: Math.round((Date.now() - t0) / 1000),
    };
  } finally {
    await v?.stop().catch(() => undefined);
    await Promise.all([vendors?.close(), dg?.close(), llm?.close()].map((p) => p?.catch(() => undefined)));
  }
}
