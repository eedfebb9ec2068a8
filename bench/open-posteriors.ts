/**
 * Open vocabulary (pocketsphinx n-gram, no grammar): the lattice posterior of the hypothesis and of each word
 * for the bench's noises and some answers and interruptions, as a rejection model candidate (issue #17).
 * `npx tsx bench/open-posteriors.ts` prints a Markdown table. Talks to the worker directly (the STT does not use these).
 */
import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { trimSilence } from "./audio";
import { paddedSounds } from "./noises";
import type { WorkerReply } from "../services/media/src/speech/pocketsphinx-protocol";

const file = new URL("../services/media/src/speech/pocketsphinx-worker.ts", import.meta.url);
const cjs = createRequire(import.meta.url).resolve("tsx/esm/api");
const tsxApi = pathToFileURL(cjs.replace(/\.cjs$/, ".mjs")).href;
const code = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(file.href)}); })`;
const w = new Worker(code, { eval: true, workerData: { modelDir: "/usr/share/pocketsphinx/model/en-us" } });
await new Promise((r) => w.once("message", r));
let id = 1;
const decode = (pcm: Int16Array) =>
  new Promise<Extract<WorkerReply, { ok: true }>>((res) => {
    const my = id++;
    const on = (r: WorkerReply) => r.id === my && r.ok && (w.off("message", on), res(r));
    w.on("message", on);
    w.postMessage({ op: "decode", id: my, pcm, noiseRms: 0.0005, posteriors: true });
  });
const items = await paddedSounds(
  [
    "what are your opening hours",
    "no thanks",
    "i want to talk to a person",
    "stop",
    "yes please",
    "no",
    "wait",
    "hold on",
    "can i book for tuesday",
    "sorry",
  ],
  trimSilence,
);
console.log("| sound | heard as | hypothesis posterior | word posteriors | max | mean | decode ms |");
console.log("|---|---|---:|---|---:|---:|---:|");
const f = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(2));
for (const [name, pcm] of items) {
  const r = await decode(pcm);
  const ws = r.wordPosteriors ?? [];
  const mean = ws.length ? ws.reduce((a, b) => a + b, 0) / ws.length : undefined;
  console.log(
    `| ${name} | ${r.text} | ${r.posterior?.toFixed(3) ?? "-"} | ${ws.map((x) => x.toFixed(2)).join(" ")} | ${f(ws.length ? Math.max(...ws) : undefined)} | ${f(mean)} | ${Math.round(r.decodeMs ?? 0)} |`,
  );
}
process.exit(0);
