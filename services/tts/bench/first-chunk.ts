/**
 * Time to first audio chunk per provider, and for a phrase-cache hit.
 * Run: `npm run bench -w @voicecall/tts` (or `npx tsx services/tts/bench/first-chunk.ts [runs]`).
 * Local flite and espeak-ng are measured for real; ElevenLabs and OpenAI run against the local fake
 * servers (so they measure our adapter and HTTP streaming path, not the vendor's synthesis time).
 * The cache row needs redis-server on PATH (started on a free port, like the tests).
 */
import { connectBus } from "@voicecall/bus";
import { SayMessage, subjects } from "@voicecall/contracts";
import { createLogger } from "@voicecall/log";
import { CallStore, connectRedis } from "@voicecall/store";
import { startServers } from "@voicecall/testkit";
import { createApp } from "../src/app";
import { PhraseCache } from "../src/cache";
import { ElevenLabsTts, LocalTts, OpenAiTts, ResilientTts, type TextToSpeech } from "../src/providers";
import { startFakeVendors } from "../test/fake-vendors";

const RUNS = Number(process.argv[2] ?? 15);
const TEXTS = [
  "Hi, this is Ava calling from Acme Dental about your appointment tomorrow at three.",
  "Sure, I can move that to Thursday morning. Does ten o'clock work for you?",
  "Thanks for your time. Goodbye!",
];

type Row = { name: string; median: number; p90: number; min: number; audioMs: number; totalMs: number };

async function measure(
  name: string,
  once: (text: string) => Promise<{ firstMs: number; audioBytes: number; totalMs: number }>,
): Promise<Row> {
  await once(TEXTS[0]!); // warm-up (JIT, page cache)
  const first: number[] = [];
  let audio = 0;
  let total = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await once(TEXTS[i % TEXTS.length]!);
    first.push(r.firstMs);
    audio += r.audioBytes / 8;
    total += r.totalMs;
  }
  first.sort((a, b) => a - b);
  const q = (p: number) => first[Math.min(first.length - 1, Math.floor(p * first.length))]!;
  return { name, median: q(0.5), p90: q(0.9), min: first[0]!, audioMs: audio / RUNS, totalMs: total / RUNS };
}

function viaProvider(tts: TextToSpeech) {
  return async (text: string) => {
    const t0 = performance.now();
    let firstMs = -1;
    let bytes = 0;
    for await (const c of tts.synthesize(text, { signal: new AbortController().signal })) {
      if (firstMs < 0) firstMs = performance.now() - t0;
      bytes += c.length;
    }
    return { firstMs, audioBytes: bytes, totalMs: performance.now() - t0 };
  };
}

const log = createLogger({ service: "bench", level: "warn" });
const wrap = (p: TextToSpeech) =>
  new ResilientTts(p, { firstChunkTimeoutMs: 5000, idleTimeoutMs: 5000, retries: 0, backoffMs: 100 });
const vendors = await startFakeVendors(TEXTS[0]);
const servers = await startServers({ backend: "path" });
const redis = connectRedis(servers.redisUrl, log);
const rows: Row[] = [];
try {
  rows.push(await measure("local flite (slt)", viaProvider(wrap(new LocalTts({ engine: "flite" })))));
  rows.push(await measure("local espeak-ng (en-us)", viaProvider(wrap(new LocalTts({ engine: "espeak-ng" })))));
  const eleven = new ElevenLabsTts({
    apiKey: vendors.apiKey,
    voiceId: "bench",
    baseUrl: vendors.url,
    modelId: "eleven_flash_v2_5",
  });
  rows.push(await measure("elevenlabs (local fake)", viaProvider(wrap(eleven))));
  const openai = new OpenAiTts({ apiKey: vendors.apiKey, baseUrl: vendors.url, model: "tts-1", voice: "alloy" });
  rows.push(await measure("openai (local fake)", viaProvider(wrap(openai))));
  const cache = new PhraseCache(new CallStore(redis), wrap(new LocalTts({ engine: "flite" })), log, {
    ttlMs: 60_000,
    maxChars: 600,
  });
  for (const t of TEXTS) await cache.prerender(t);
  rows.push(
    await measure("cache hit (Redis, flite audio)", async (text) => {
      const t0 = performance.now();
      const src = await cache.open(text, new AbortController().signal, () => {});
      let firstMs = -1;
      let bytes = 0;
      for await (const c of src.chunks) {
        if (firstMs < 0) firstMs = performance.now() - t0;
        bytes += c.length;
      }
      if (!src.cached) throw new Error("expected a cache hit");
      return { firstMs, audioBytes: bytes, totalMs: performance.now() - t0 };
    }),
  );
  // The whole service path: say published on NATS → first audio chunk received on the audio subject.
  const bus = await connectBus({ url: servers.natsUrl, name: "bench", log });
  const store = new CallStore(redis);
  for (const [name, tts] of [
    ["service, cache hit (NATS→Redis→NATS)", wrap(new LocalTts({ engine: "flite" }))],
    ["service, live flite (NATS→flite→NATS)", wrap(new LocalTts({ engine: "flite" }))],
  ] as const) {
    const cached = name.includes("cache hit");
    const app = createApp({ bus, redis, store, tts, log, cacheTtlMs: 60_000, cacheMaxChars: cached ? 600 : 0 });
    app.start();
    if (cached) for (const t of TEXTS) await app.cache.prerender(t);
    let n = 0;
    rows.push(
      await measure(name, async (text) => {
        const callId = `bench-${++n}`;
        const sub = bus.nc.subscribe(subjects.audio(callId));
        await bus.flush();
        const t0 = performance.now();
        bus.publish(subjects.say(callId), SayMessage, {
          type: "say",
          callId,
          ts: Date.now(),
          utteranceId: "u",
          text: cached ? text : `${text} ${n}`,
          purpose: "reply",
          generation: 0,
        });
        let firstMs = -1;
        let bytes = 0;
        for await (const m of sub) {
          if (firstMs < 0) firstMs = performance.now() - t0;
          bytes += m.data.length;
          if (m.headers?.get("last") === "1") break;
        }
        sub.unsubscribe();
        return { firstMs, audioBytes: bytes, totalMs: performance.now() - t0 };
      }),
    );
    await app.close();
  }
  await bus.drain();
} finally {
  redis.disconnect();
  await servers.stop();
  await vendors.close();
}

const f = (n: number) => n.toFixed(1).padStart(8);
console.log(`time to first chunk, ${RUNS} runs each after 1 warm-up (ms)`);
console.log(
  `${"provider".padEnd(40)}${"median".padStart(8)}${"p90".padStart(8)}${"min".padStart(8)}${"total~".padStart(8)}${"audio".padStart(8)}`,
);
for (const r of rows)
  console.log(`${r.name.padEnd(40)}${f(r.median)}${f(r.p90)}${f(r.min)}${f(r.totalMs)}${f(r.audioMs)}`);
