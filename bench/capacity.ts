import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import { twilioSignature, mintStreamToken } from "@voicecall/auth";
import { connectBus } from "@voicecall/bus";
import { CallStore, connectRedis } from "@voicecall/store";
import { audioHeaderRecord, subjects } from "@voicecall/contracts";
import { FRAME_BYTES, MULAW_SILENCE } from "@voicecall/audio";
import { startStack, testLogger } from "@voicecall/testkit";
import { synthesize } from "@voicecall/twilio-sim";
import { trimSilence } from "./audio";
import { cpuShare, sampleProc } from "./proc-stats";

export interface CapacityStep {
  streams: number;
  /** Event-loop lag p99 inside the worker over the step: prom-client `nodejs_eventloop_lag_p99_seconds` minus its 10 ms resolution. */
  lagP99Ms: number;
  cpuCores: number;
  rssMB: number;
  /** Outbound media frames the driver received per stream per second (50 = real time while agent audio plays). */
  framesOutPerS: number;
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
  idleRssMB: number;
  steps: CapacityStep[];
  /** Streams within the lag limit on the one pinned core. */
  streamsPerCore: number;
  /** The same ramp against the bare relay (bench/limit/relay.ts), when run. */
  relay?: { streamsPerCore: number; cpuPerStreamPct: number; rssPerStreamKB: number; stopReason: string };
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
  /** List the worker's GC pauses of 5 ms or more (a preload observing `gc` performance entries). */
  gcTrace?: boolean;
  log: (l: string) => void;
}

const GC_PRELOAD = new URL("./gc-preload.mjs", import.meta.url).pathname;
const PRELOAD = new URL("./cpu-prof-preload.mjs", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK = 20;
/** Caller: speaks the question, then is silent, in a loop of this length (phase random per stream). */
const LOOP_MS = 8000;
/** Agent: a 2 s utterance every LOOP_MS, published on the bus as tts would (10 chunks of 200 ms). */
const AGENT_MS = 2000;

/** A Deepgram-protocol stand-in that only counts audio: `Finalize` answers a final at once. */
async function startCountingDeepgram(apiKey: string): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer((_q, s) => s.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  http.on("upgrade", (req, socket, head) => {
    if (req.headers.authorization !== `Token ${apiKey}`) return socket.end("HTTP/1.1 401 Unauthorized\r\n\r\n");
    wss.handleUpgrade(req, socket, head, (ws) => {
      let bytes = 0;
      let start = 0;
      ws.on("message", (d, bin) => {
        if (bin) return void (bytes += (d as Buffer).length);
        const t = JSON.parse(d.toString()) as { type: string };
        if (t.type === "Finalize" || t.type === "CloseStream") {
          const text = bytes > 2400 ? "what are your opening hours" : "";
          ws.send(JSON.stringify({ type: "Results", channel_index: [0, 1], duration: bytes / 8000, start, is_final: true, speech_final: true, from_finalize: true, channel: { alternatives: [{ transcript: text, confidence: 0.98, words: [] }] } }));
          start += bytes / 8000;
          bytes = 0;
        }
        if (t.type === "CloseStream") ws.close(1000);
      });
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/v1/listen`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** One raw Media Streams socket, Twilio side, kept cheap: pre-encoded frames, marks echoed at playback. */
class RawStream {
  readonly streamSid = `MZ${randomBytes(16).toString("hex")}`;
  private ws: WebSocket;
  private sent = 0;
  private startAt = 0;
  private queued = 0;
  private marks: { at: number; name: string }[] = [];
  private playedTotal = 0;
  framesOut = 0;
  live = false;
  private readonly prefix: string;

  constructor(url: string, sig: string, readonly callId: string, private readonly callSid: string, token: string, private readonly track: string[], private readonly phase: number, accountSid: string) {
    this.ws = new WebSocket(url, { headers: { "X-Twilio-Signature": sig }, perMessageDeflate: false });
    this.prefix = `{"event":"media","streamSid":"${this.streamSid}","sequenceNumber":"`;
    this.ws.on("open", () => {
      this.ws.send(JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }));
      this.ws.send(JSON.stringify({ event: "start", sequenceNumber: "1", streamSid: this.streamSid, start: { accountSid, streamSid: this.streamSid, callSid: this.callSid, tracks: ["inbound"], mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 }, customParameters: { callId, token } } }));
      this.startAt = Date.now();
      this.live = true;
    });
    this.ws.on("message", (d) => this.onMessage(d as Buffer));
    this.ws.on("error", () => undefined);
    this.ws.on("close", () => (this.live = false));
  }

  tick(now: number): void {
    if (!this.live) return;
    const due = Math.floor((now - this.startAt) / TICK) + 1;
    while (this.sent < due) {
      const i = (this.sent + this.phase) % this.track.length;
      const n = this.sent + 2;
      this.ws.send(`${this.prefix}${n}","media":{"track":"inbound","chunk":"${this.sent + 1}","timestamp":"${this.sent * TICK}","payload":"${this.track[i]}"}}`);
      this.sent++;
    }
    // Playback: 160 bytes per tick; echo marks the playhead reaches.
    const play = Math.min(this.queued, FRAME_BYTES);
    this.queued -= play;
    this.playedTotal += play;
    while (this.marks.length && this.marks[0]!.at <= this.playedTotal) this.echo(this.marks.shift()!.name);
  }

  private echo(name: string): void {
    this.ws.send(`{"event":"mark","streamSid":"${this.streamSid}","sequenceNumber":"0","mark":{"name":"${name}"}}`);
  }

  private onMessage(d: Buffer): void {
    const m = JSON.parse(d.toString()) as { event: string; media?: { payload: string }; mark?: { name: string } };
    if (m.event === "media" && m.media) {
      const n = Buffer.byteLength(m.media.payload, "base64");
      this.queued += n;
      this.framesOut += n / FRAME_BYTES;
    } else if (m.event === "mark" && m.mark) {
      if (this.queued === 0) this.echo(m.mark.name);
      else this.marks.push({ at: this.playedTotal + this.queued, name: m.mark.name });
    } else if (m.event === "clear") {
      this.queued = 0;
      for (const x of this.marks) this.echo(x.name);
      this.marks = [];
    }
  }

  close(): void {
    this.live = false;
    this.ws.terminate();
  }
}

async function lagP99Ms(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = /^nodejs_eventloop_lag_p99_seconds\{[^}]*\} ([0-9.e+-]+)$/m.exec(text) ?? /^nodejs_eventloop_lag_p99_seconds ([0-9.e+-]+)$/m.exec(text);
  if (!m) throw new Error(`no nodejs_eventloop_lag_p99_seconds at ${metricsUrl} (media /metrics missing?)`);
  // monitorEventLoopDelay (prom-client's default resolution 10 ms) records the whole timer interval:
  // an idle loop reads 10 ms. The lag is what is left above the resolution.
  return Math.max(0, Math.round((Number(m[1]) * 1000 - PROM_LAG_RESOLUTION_MS) * 10) / 10);
}
const PROM_LAG_RESOLUTION_MS = 10;

/** Ramp raw streams at one media worker (pinned to one core when taskset exists) until its event loop lags. */
export async function runCapacity(o: CapacityOptions): Promise<CapacityReport> {
  const { log: quiet } = testLogger("bench", "warn");
  const dgKey = "bench-capacity-key";
  const dg = await startCountingDeepgram(dgKey);
  o.log(`[capacity] starting NATS, Redis and one media worker`);
  const stack = await startStack({
    services: ["media"],
    env: { LOG_LEVEL: "warn" },
    serviceEnv: { media: { STT_PROVIDER: "deepgram", DEEPGRAM_API_KEY: dgKey, DEEPGRAM_URL: dg.url, MAX_PENDING_PER_ADDRESS: "5000", MAX_PENDING_TOTAL: "5000", STREAM_START_TIMEOUT_MS: "30000", FLOOD_BURST: "5000", NODE_OPTIONS: [o.profileDir ? `--import ${PRELOAD}` : "", o.gcTrace ? `--import ${GC_PRELOAD}` : ""].join(" ").trim(), ...(o.profileDir ? { BENCH_PROFILE_DIR: o.profileDir } : {}) } },
  });
  const redis = connectRedis(stack.servers.redisUrl, quiet, "bench");
  const store = new CallStore(redis);
  const bus = await connectBus({ url: stack.servers.natsUrl, name: "bench", log: quiet });
  const media = stack.get("media");
  const pid = media.proc.child.pid!;
  let pinnedCore = "not pinned";
  if (o.pin !== false) try {
    execFileSync("taskset", ["-a", "-cp", "1", String(pid)], { stdio: "ignore" });
    execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
    pinnedCore = "media on core 1, driver on core 0";
  } catch {
    /* no taskset: both float */
  }
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
      for (let c = 0; c < 10; c++) bus.publishBinary(subjects.audio(s.callId), audio.subarray(c * 1600, (c + 1) * 1600), audioHeaderRecord({ callId: s.callId, utteranceId: id, seq: c, last: c === 9, generation: agentGen, purpose: "reply", ...(c === 0 ? { text: "bench" } : {}) }));
    }
  }, 250);
  const steps: CapacityStep[] = [];
  let stopReason = `reached --capacity-max ${o.max}`;
  const publicHost = new URL(stack.origin).host;
  const sig = twilioSignature(stack.secrets.TWILIO_AUTH_TOKEN, `wss://${publicHost}/voice/stream`, {});
  const speech = trimSilence(await synthesize("what are your opening hours"));
  const frames: string[] = [];
  for (let off = 0; off < LOOP_MS * 8; off += FRAME_BYTES) {
    const f = off < speech.length ? speech.subarray(off, off + FRAME_BYTES) : new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE);
    const full = f.length === FRAME_BYTES ? f : Uint8Array.from([...f, ...new Uint8Array(FRAME_BYTES - f.length).fill(MULAW_SILENCE)]);
    frames.push(Buffer.from(full).toString("base64"));
  }
  const idle = sampleProc(pid)!;
  try {
    await lagP99Ms(`${media.url}/metrics`);
    await sleep(o.stepS * 1000);
    const baseline = await lagP99Ms(`${media.url}/metrics`);
    steps.push({ streams: 0, lagP99Ms: baseline, cpuCores: Math.round(cpuShare(idle, sampleProc(pid)!) * 100) / 100, rssMB: Math.round(idle.rss / 1048576), framesOutPerS: 0 });
    o.log(`[capacity] idle worker: lag p99 ${baseline} ms (the machine's own scheduling noise)`);
    while (streams.length < o.max) {
      const add = Math.min(o.step, o.max - streams.length);
      for (let i = 0; i < add; i++) {
        const callId = `cap${randomBytes(6).toString("hex")}`;
        const callSid = `CA${randomBytes(16).toString("hex")}`;
        await store.createCall({ callId, callSid, direction: "outbound", mode: "conversation", from: "+15005550006", to: "+14155550100", state: "in-progress" });
        const token = mintStreamToken(stack.secrets.STREAM_TOKEN_SECRET, callId, callSid, 600_000);
        const s = new RawStream(`ws://127.0.0.1:${media.port}/voice/stream`, sig, callId, callSid, token, frames, Math.floor(Math.random() * frames.length), stack.secrets.TWILIO_ACCOUNT_SID);
        streams.push(s);
      }
      await sleep(1500); // let the new streams start
      await lagP99Ms(`${media.url}/metrics`); // resets the lag histogram
      if (o.profileDir) process.kill(pid, "SIGUSR2"); // profile only the steady state of this step
      const a = sampleProc(pid)!;
      const out0 = streams.reduce((n, s) => n + s.framesOut, 0);
      await sleep(o.stepS * 1000);
      const lag = await lagP99Ms(`${media.url}/metrics`);
      if (o.profileDir) process.kill(pid, "SIGUSR2");
      const b = sampleProc(pid)!;
      const out1 = streams.reduce((n, s) => n + s.framesOut, 0);
      const live = streams.filter((s) => s.live).length;
      const step: CapacityStep = { streams: live, lagP99Ms: lag, cpuCores: Math.round(cpuShare(a, b) * 100) / 100, rssMB: Math.round(b.rss / 1048576), framesOutPerS: Math.round(((out1 - out0) / (o.stepS * Math.max(1, live))) * 10) / 10 };
      steps.push(step);
      o.log(`[capacity] ${live} streams: lag p99 ${lag} ms, ${step.cpuCores} cores, RSS ${step.rssMB} MB`);
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
    if (o.gcTrace) {
      const pauses = media.logs().split("\n").filter((l) => l.startsWith("bench-gc "));
      o.log(`[capacity] worker GC pauses ≥ 5 ms: ${pauses.length}\n${pauses.slice(-15).join("\n")}`);
    }
    clearInterval(agentTimer);
    for (const s of streams) s.close();
    await bus.drain().catch(() => undefined);
    redis.disconnect();
    await stack.stop();
    await dg.close();
  }
  // The largest step within the limit before the final pair of steps over it.
  const cut = stopReason.includes("two steps") ? steps.length - 2 : steps.length;
  const good = steps.slice(0, cut).filter((s) => s.streams > 0 && s.lagP99Ms <= o.lagLimitMs).at(-1);
  return {
    lagLimitMs: o.lagLimitMs,
    pinnedCore,
    traffic: `per stream: 50 inbound frames/s (speech ${Math.round(speech.length / 8)} ms every ${LOOP_MS} ms, WebRTC VAD, Deepgram-protocol STT streaming every frame) and a ${AGENT_MS} ms agent utterance every ${LOOP_MS} ms (bus → paced playout with marks)`,
    maxStreamsWithinLag: good?.streams ?? 0,
    stoppedAt: steps.at(-1)?.streams ?? 0,
    stopReason,
    cpuPerStreamPct: good ? Math.round((good.cpuCores / good.streams) * 10000) / 100 : 0,
    rssPerStreamKB: good ? Math.round(((good.rssMB * 1048576 - idle.rss) / 1024 / good.streams) * 10) / 10 : 0,
    idleRssMB: Math.round(idle.rss / 1048576),
    steps,
    streamsPerCore: good?.streams ?? 0,
  };
}
