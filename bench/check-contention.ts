/**
 * The open-vocabulary barge-in check under load, one process (issue #17): the n-gram decoder kept busy as ten
 * open-vocabulary callers keep it (two long decodes always queued), a thread standing for the rest of the
 * stack (busy `BUSY_PCT` % of the time at nice 0: driver, TTS, event loops), and every 150–300 ms a second
 * opinion peek of a bench noise, as a paused reply asks for it. Reports each peek's wall ms (asked → answered)
 * per `STT_NGRAM_NICE` value, the values interleaved in rounds so the machine's load falls on all alike.
 * `npx tsx bench/check-contention.ts [NICE,NICE…] [ROUNDS] [SECONDS]` (default `0,10 3 15`).
 */
import { Worker } from "node:worker_threads";
import { trimSilence } from "./audio";
import { paddedSounds } from "./noises";
import { createPocketsphinxStt } from "../services/media/src/speech/stt-pocketsphinx";
import { secondOpinionGrammar } from "../services/media/src/speech/second-opinion";
import { dist } from "./stats";

const nices = (process.argv[2] ?? "0,10").split(",").map(Number);
const rounds = Number(process.argv[3] ?? 3);
const seconds = Number(process.argv[4] ?? 15);
const BUSY_PCT = Number(process.env.BUSY_PCT ?? 50);

const items = await paddedSounds(["i want to talk to a person about my booking on tuesday"], trimSilence);
const sentence = items.find(([n]) => n.startsWith('"'))![1];
const murmurs = items.filter(([n]) => ["cough", "door", "uh huh", "mm hmm", "yeah", "right"].includes(n));

// The rest of the stack: a thread that spins BUSY_PCT % of every 10 ms.
const busy = new Worker(
  `const on = ${BUSY_PCT / 10}; for (;;) { const t = performance.now(); while (performance.now() - t < on); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 - on); }`,
  { eval: true },
);
busy.unref();

const walls = new Map<number, number[]>(nices.map((n) => [n, []]));
for (let r = 0; r < rounds; r++) {
  for (const nice of nices) {
    const stt = await createPocketsphinxStt({ secondOpinion: secondOpinionGrammar(), ngramNice: nice });
    const ac = new AbortController();
    const idle = stt.open({ callId: "ngram", signal: ac.signal });
    let pending = 0;
    const feed = () => {
      while (pending < 2 && !ac.signal.aborted) {
        pending++;
        idle.endUtterance(sentence.slice());
      }
    };
    void (async () => {
      for await (const _ of idle.results) {
        pending--;
        feed();
      }
    })();
    feed();
    const s = stt.open({ callId: "check", signal: ac.signal });
    const end = performance.now() + seconds * 1000;
    let i = 0;
    while (performance.now() < end) {
      await new Promise((res) => setTimeout(res, 150 + Math.random() * 150));
      const pcm = murmurs[i++ % murmurs.length]![1];
      const t = performance.now();
      await s.peek!(pcm.slice());
      walls.get(nice)!.push(performance.now() - t);
    }
    ac.abort();
    await stt.close();
  }
}

console.log(`| STT_NGRAM_NICE | checks | asked → answered p50 / p95 / max (ms) | within 100 ms | within 200 ms |`);
console.log(`|---:|---:|---:|---:|---:|`);
for (const [nice, xs] of walls) {
  const d = dist(xs);
  const within = (ms: number) => `${Math.round((xs.filter((x) => x <= ms).length / xs.length) * 1000) / 10} %`;
  console.log(`| ${nice} | ${xs.length} | ${d.p50} / ${d.p95} / ${d.max} | ${within(100)} | ${within(200)} |`);
}
process.exit(0);
