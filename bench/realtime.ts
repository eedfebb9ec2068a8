/**
 * `npx tsx bench/realtime.ts [--calls 10,50] [--turns T] [--json out.json] [--profile DIR]` (run it under `heavy`;
 * `--profile` writes the media process's CPU profile of each of its phases there, for `bench/profile-summary.ts`)
 *
 * Voice-to-voice through the realtime engine, against its limit in the same run. For each concurrency in
 * `--calls`, the same driver runs N concurrent calls twice, through the same Caddy TLS, against the same
 * local Realtime server:
 * - limit: `bench/realtime-limit.ts`, a bare bridge in its own process (the stream socket relayed to the
 *   model socket, nothing else);
 * - ours: a media process (real NATS, Redis) with the realtime bridge.
 * Per turn, on one clock (this process runs the phones and the model):
 * - voice-to-voice = the phone's last voiced frame sent → the first reply audio at the phone;
 * - model = that frame's arrival at the model → its first audio delta (its VAD's end-of-speech wait,
 *   `REALTIME_VAD_SILENCE_MS`, is in here: a real model adds its inference on top);
 * - transit = voice-to-voice − model: inbound (phone → Caddy → bridge → model) plus outbound
 *   (model → bridge → Caddy → phone). Ours minus the limit's is our overhead.
 * Every line reports ours, the limit's and their ratio, with the machine, its load and the driver's lag.
 * Numbers, never asserted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { cpus, loadavg } from "node:os";
import { randomUUID } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { mintStreamToken } from "@voicecall/auth";
import { CallStore, connectRedis } from "@voicecall/store";
import {
  freePort,
  generateSecrets,
  startProc,
  startServers,
  startStack,
  testLogger,
  waitFor,
} from "@voicecall/testkit";
import { TwilioStream, sid } from "@voicecall/media/testing";
import { FakeRealtimeServer } from "../test/realtime/fake-realtime-server";
import { dist, type Dist } from "./stats";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const counts = arg("--calls", "10,50")
  .split(",")
  .map((x) => Math.max(1, Number(x)));
const turns = Math.max(1, Number(arg("--turns", "3")));
const out = arg("--json", "artifacts/bench-realtime.json");
const profileDir = arg("--profile", "");

const fake = await FakeRealtimeServer.start();
fake.onUserTurn = () => ({ say: "We open at nine.", ms: 800 });
const secrets = generateSecrets();
const relayPort = await freePort();
const stack = await startStack({
  services: ["media"],
  secrets,
  serviceEnv: {
    media: {
      REALTIME_URL: fake.url,
      REALTIME_SILENCE_REPROMPT_MS: "0",
      LOG_LEVEL: "warn",
      ...(profileDir
        ? {
            NODE_OPTIONS: `--import ${new URL("./cpu-prof-preload.mjs", import.meta.url).pathname}`,
            BENCH_PROFILE_DIR: profileDir,
          }
        : {}),
    },
  },
  // The limit sits behind the same Caddy, on a path of its own.
  startServers: (routes) =>
    startServers({ caddy: { routes: [...routes, { path: "/limit/stream*", upstreams: [`127.0.0.1:${relayPort}`] }] } }),
});
const relay = startProc(process.execPath, ["--import", "tsx", "bench/realtime-limit.ts"], {
  ...process.env,
  PORT: String(relayPort),
  MODEL_URL: fake.url,
});
await waitFor(() => relay.output().includes("listening"), "bare bridge listening", 30_000, 50);
const { log } = testLogger("bench", "warn");
const redis = connectRedis(stack.servers.redisUrl, log);
const store = new CallStore(redis);
const wssBase = stack.origin.replace(/^https/, "wss");

type Target = "ours" | "limit";
interface Samples {
  v2v: number[];
  model: number[];
  transit: number[];
  inbound: number[];
  outbound: number[];
}
const samples = (): Samples => ({ v2v: [], model: [], transit: [], inbound: [], outbound: [] });

async function oneCall(target: Target, i: number, s: Samples): Promise<void> {
  await new Promise((r) => setTimeout(r, i * 50));
  const callId = `b${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const callSid = sid("CA");
  // The model session is told apart by its instructions: this call's own system prompt (ours), or the stream's parameter (the limit).
  const tag = `bench call ${callId}`;
  await store.createCall({
    callId,
    callSid,
    direction: "outbound",
    mode: "conversation",
    engine: "realtime",
    from: "+14155550100",
    to: "+14155550101",
    state: "in-progress",
    agentOptions: JSON.stringify({ systemPrompt: tag }),
  });
  const url = `${wssBase}${target === "ours" ? "/voice/stream" : "/limit/stream"}`;
  const c = new TwilioStream({
    url,
    ca: stack.ca,
    authToken: secrets.TWILIO_AUTH_TOKEN,
    callSid,
    customParameters: {
      callId,
      token: mintStreamToken(secrets.STREAM_TOKEN_SECRET, callId, callSid, 60_000),
      benchTag: tag,
    },
    autoTick: false,
  });
  let firstAudioAt = 0;
  c.ws.on("message", (d) => {
    if (!firstAudioAt && d.toString().includes('"event":"media"')) firstAudioAt = performance.now();
  });
  // The phone's clock: one frame per 20 ms; `voiced` counts the caller frames still queued.
  let voiced = 0;
  let lastVoicedSentAt = 0;
  const timer = setInterval(() => {
    c.tick();
    if (voiced > 0 && --voiced === 0) lastVoicedSentAt = performance.now();
  }, 20);
  try {
    await c.opened;
    const m = await waitFor(() => fake.sessions.find((x) => x.config.instructions === tag), "session", 20_000);
    for (let t = 0; t < turns; t++) {
      firstAudioAt = 0;
      lastVoicedSentAt = 0;
      const responses = m.responses.length;
      c.say(600);
      voiced = 30;
      await waitFor(
        () => firstAudioAt > 0 && lastVoicedSentAt > 0 && m.responses[responses]?.firstDeltaAt,
        "reply audio",
        20_000,
        5,
      );
      const firstDelta = m.responses[responses]!.firstDeltaAt!;
      const total = firstAudioAt - lastVoicedSentAt;
      const model = firstDelta - m.lastVoicedAt;
      s.v2v.push(total);
      s.model.push(model);
      s.transit.push(total - model);
      s.inbound.push(m.lastVoicedAt - lastVoicedSentAt);
      s.outbound.push(firstAudioAt - firstDelta);
      await waitFor(() => m.responses[responses]?.status === "completed", "reply done", 20_000, 20);
      await new Promise((r) => setTimeout(r, 1200)); // let it play out before the next turn
    }
  } finally {
    clearInterval(timer);
    c.close();
  }
}

interface Phase {
  target: Target;
  calls: number;
  d: Record<keyof Samples, Dist>;
  driverLagP99Ms: number;
  loadavg: number[];
}

async function phase(target: Target, calls: number): Promise<Phase> {
  const s = samples();
  const lag = monitorEventLoopDelay({ resolution: 5 });
  // SIGUSR2: the preload writes media's profile so far and starts another, so one file covers this phase.
  const mark = () => profileDir && target === "ours" && process.kill(stack.get("media").proc.child.pid!, "SIGUSR2");
  mark();
  lag.enable();
  await Promise.all(Array.from({ length: calls }, (_, i) => oneCall(target, i, s)));
  lag.disable();
  mark();
  await new Promise((r) => setTimeout(r, 1000)); // the streams' teardown, before the next phase
  const d = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, dist(v)])) as Phase["d"];
  return { target, calls, d, driverLagP99Ms: Math.round(lag.percentile(99) / 1e5) / 10, loadavg: loadavg() };
}

const started = Date.now();
const load0 = loadavg();
// One call through each first, discarded: both processes' code is compiled and warm before anything counts.
await phase("limit", 1);
await phase("ours", 1);
const phases: Phase[] = [];
for (const n of counts) {
  // The limit first, then ours, at each concurrency: the same driver, Caddy and model, one after the other.
  phases.push(await phase("limit", n));
  phases.push(await phase("ours", n));
}

const metrics: [keyof Samples, string][] = [
  ["v2v", "voice-to-voice at the phone"],
  ["transit", "transit: voice-to-voice − model"],
  ["inbound", "  inbound: phone → bridge → model"],
  ["outbound", "  outbound: model → bridge → phone"],
  ["model", "model: VAD end wait + first delta"],
];
const f = (x: number | null) => (x === null ? "-" : x.toFixed(1));
const ratio = (a: number | null, b: number | null) =>
  a === null || b === null || b <= 0 ? "-" : `${(a / b).toFixed(2)}×`;
const lines = [
  "| calls | metric (ms) | n | ours p50 | limit p50 | ratio p50 | ours p95 | limit p95 | ratio p95 | ours max | limit max |",
  "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
];
for (const n of counts) {
  const ours = phases.find((p) => p.target === "ours" && p.calls === n)!;
  const lim = phases.find((p) => p.target === "limit" && p.calls === n)!;
  for (const [k, name] of metrics) {
    const a = ours.d[k];
    const b = lim.d[k];
    lines.push(
      `| ${n} | ${name} | ${a.n} | ${f(a.p50)} | ${f(b.p50)} | ${ratio(a.p50, b.p50)} | ${f(a.p95)} | ${f(b.p95)} | ${ratio(a.p95, b.p95)} | ${f(a.max)} | ${f(b.max)} |`,
    );
  }
  const ov = (p: "p50" | "p95") =>
    ours.d.transit[p] === null || lim.d.transit[p] === null ? "-" : (ours.d.transit[p]! - lim.d.transit[p]!).toFixed(1);
  lines.push(`| ${n} | our overhead (our transit − the limit's) | | ${ov("p50")} | | | ${ov("p95")} | | | | |`);
  lines.push(`| ${n} | driver lag p99 (ms) | | ${ours.driverLagP99Ms} | ${lim.driverLagP99Ms} | | | | | | |`);
}
const machine = {
  cpus: cpus().length,
  model: cpus()[0]?.model,
  node: process.version,
  loadavgBefore: load0,
  loadavgAfter: loadavg(),
};
const md = lines.join("\n");
console.log(
  `realtime bench: ${counts.join(", ")} concurrent calls × ${turns} turns; ${machine.cpus} × ${machine.model}; load ${load0.map((x) => x.toFixed(2)).join(" ")} → ${machine.loadavgAfter.map((x) => x.toFixed(2)).join(" ")}\n${md}`,
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      at: new Date().toISOString(),
      machine,
      options: { counts, turns },
      wallS: (Date.now() - started) / 1000,
      markdown: md,
      phases,
    },
    null,
    2,
  ),
);
redis.disconnect();
await relay.stop();
await stack.stop();
await fake.close();
