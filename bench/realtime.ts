/**
 * `npx tsx bench/realtime.ts [--calls N] [--turns T] [--json out.json]`
 *
 * Voice-to-voice through the realtime engine: N concurrent calls, each a Twilio Media Streams client
 * through Caddy TLS into a media process (real NATS, Redis), bridged to the local Realtime server, T turns
 * each. Per turn, on one clock (this process runs the phone and the model):
 * - voice-to-voice = the phone's last voiced frame sent → the first reply audio at the phone;
 * - model = the model's own part: that frame's arrival at the model → its first audio delta (its VAD's
 *   end-of-speech wait, `REALTIME_VAD_SILENCE_MS`, is in here: a real model adds its inference on top);
 * - our overhead = voice-to-voice − model: inbound (phone → Caddy → media → model) plus outbound
 *   (model → media playout → Caddy → phone), each also reported alone.
 * Numbers, never asserted.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { cpus, loadavg } from "node:os";
import { randomUUID } from "node:crypto";
import { mintStreamToken } from "@voicecall/auth";
import { CallStore, connectRedis } from "@voicecall/store";
import { generateSecrets, startStack, testLogger, waitFor } from "@voicecall/testkit";
import { TwilioStream, sid } from "@voicecall/media/testing";
import { FakeRealtimeServer } from "../test/realtime/fake-realtime-server";
import { dist, markdown, table, type Row } from "./stats";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const calls = Math.max(1, Number(arg("--calls", "10")));
const turns = Math.max(1, Number(arg("--turns", "3")));
const out = arg("--json", "artifacts/bench-realtime.json");

const fake = await FakeRealtimeServer.start();
fake.onUserTurn = () => ({ say: "We open at nine.", ms: 800 });
const secrets = generateSecrets();
const stack = await startStack({ services: ["media"], secrets, serviceEnv: { media: { REALTIME_URL: fake.url, REALTIME_SILENCE_REPROMPT_MS: "0", LOG_LEVEL: "warn" } } });
const { log } = testLogger("bench", "warn");
const redis = connectRedis(stack.servers.redisUrl, log);
const store = new CallStore(redis);
const wss = stack.origin.replace(/^https/, "wss") + "/voice/stream";

const v2v: number[] = [];
const model: number[] = [];
const inbound: number[] = [];
const outbound: number[] = [];
const overhead: number[] = [];

async function oneCall(i: number): Promise<void> {
  await new Promise((r) => setTimeout(r, i * 50));
  const callId = `b${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  const callSid = sid("CA");
  await store.createCall({ callId, callSid, direction: "outbound", mode: "conversation", engine: "realtime", from: "+14155550100", to: "+14155550101", state: "in-progress" });
  const before = new Set(fake.sessions);
  const c = new TwilioStream({ url: wss, ca: stack.ca, authToken: secrets.TWILIO_AUTH_TOKEN, callSid, customParameters: { callId, token: mintStreamToken(secrets.STREAM_TOKEN_SECRET, callId, callSid, 60_000) }, autoTick: false });
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
    const s = await waitFor(() => fake.sessions.find((x) => !before.has(x) && x.config.instructions), "session", 20_000);
    for (let t = 0; t < turns; t++) {
      firstAudioAt = 0;
      lastVoicedSentAt = 0;
      const responses = s.responses.length;
      c.say(600);
      voiced = 30;
      await waitFor(() => firstAudioAt > 0 && lastVoicedSentAt > 0 && s.responses[responses]?.firstDeltaAt, "reply audio", 20_000, 5);
      const firstDelta = s.responses[responses]!.firstDeltaAt!;
      const total = firstAudioAt - lastVoicedSentAt;
      const m = firstDelta - s.lastVoicedAt;
      v2v.push(total);
      model.push(m);
      inbound.push(s.lastVoicedAt - lastVoicedSentAt);
      outbound.push(firstAudioAt - firstDelta);
      overhead.push(total - m);
      await waitFor(() => s.responses[responses]?.status === "completed", "reply done", 20_000, 20);
      await new Promise((r) => setTimeout(r, 1200)); // let it play out before the next turn
    }
  } finally {
    clearInterval(timer);
    c.close();
  }
}

const started = Date.now();
await Promise.all(Array.from({ length: calls }, (_, i) => oneCall(i)));
const rows: Row[] = [
  { metric: "voice-to-voice at the phone", d: dist(v2v), unit: "ms" },
  { metric: "  of which the model (VAD end wait + first delta)", d: dist(model), unit: "ms" },
  { metric: "  of which ours (inbound + outbound)", d: dist(overhead), unit: "ms", target: "small against the model" },
  { metric: "    inbound: phone → media → model", d: dist(inbound), unit: "ms" },
  { metric: "    outbound: model → media → phone", d: dist(outbound), unit: "ms" },
];
const report = { at: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg(), node: process.version }, options: { calls, turns }, wallS: (Date.now() - started) / 1000, table: table(rows), markdown: markdown(rows), rows };
console.log(`realtime bench: ${calls} calls × ${turns} turns, load ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n${report.table}`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(report, null, 2));
redis.disconnect();
await stack.stop();
await fake.close();
