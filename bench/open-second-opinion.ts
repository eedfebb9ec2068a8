/**
 * Open vocabulary over agent speech: what a small fixed grammar (backchannels, interruptions, the murmur sink;
 * `secondOpinionGrammar`) hears for each bench sound and for short interruptions and sentences, its score margin
 * over the sink (`confidence`), and what the decision rule makes of it, beside the n-gram decode and both
 * decode times (issue #17). `npx tsx bench/open-second-opinion.ts [GRAMMAR_FILE]` prints a Markdown table;
 * each sound padded 200 ms each side, decoded through the STT as a final heard over agent speech.
 */
import { readFile } from "node:fs/promises";
import { trimSilence } from "./audio";
import { paddedSounds } from "./noises";
import { createPocketsphinxStt } from "../services/media/src/speech/stt-pocketsphinx";
import { secondOpinionGrammar } from "../services/media/src/speech/second-opinion";
import type { SttResult } from "../services/media/src/speech/types";

const grammar = process.argv[2] ? await readFile(process.argv[2], "utf8") : secondOpinionGrammar();
const stt = await createPocketsphinxStt();
const once = async (pcm: Int16Array, g: string | undefined): Promise<SttResult & { wallMs: number }> => {
  const s = stt.open({ callId: "b", signal: new AbortController().signal, grammar: g });
  const t = performance.now();
  s.endUtterance(pcm, { verify: true });
  for await (const r of s.results) {
    s.close();
    return { ...r, wallMs: performance.now() - t };
  }
  throw new Error("no result");
};
const items = await paddedSounds(
  [
    "what are your opening hours",
    "no thanks",
    "i want to talk to a person",
    "can i book for tuesday",
    "yes please",
    "stop",
    "wait",
    "hold on",
    "hang on",
    "no",
    "excuse me",
    "sorry",
  ],
  trimSilence,
);
console.log("| sound | fixed grammar heard | confidence | fixed ms | n-gram heard | n-gram ms |");
console.log("|---|---|---:|---:|---|---:|");
for (const [name, pcm] of items) {
  const f = await once(pcm, grammar);
  const o = await once(pcm, undefined);
  console.log(
    `| ${name} | ${f.text || "∅"} | ${f.confidence?.toFixed(2) ?? "-"} | ${Math.round(f.decodeMs ?? 0)} | ${o.text || "∅"} | ${Math.round(o.decodeMs ?? 0)} |`,
  );
}
await stt.close();
process.exit(0);
