/**
 * Word accuracy and speed of the speech-in pipeline on synthetic callers.
 * Run: npx tsx bench/stt-accuracy.ts [noiseRms ...]
 * Each phrase: TTS CLI → WAV → 8 kHz → mu-law → 20 ms frames → WebRTC VAD → endpointer →
 * pocketsphinx (whole utterance, 16 kHz). Prints a Markdown table.
 */
import { FRAME_BYTES } from "@voicecall/audio";
import { parseConfig } from "@voicecall/config";
import { speechConfigSchema } from "../services/media/src/speech/config";
import { createSpeechPipelineFactory, type SpeechFactory } from "../services/media/src/speech/factory";
import { openPipeline } from "../services/media/src/speech/pipeline";
import type { SpeechEvent, SpeechToText, SttStream } from "../services/media/src/speech/types";
import { EventQueue } from "../services/media/src/speech/event-queue";
import { createWebrtcVad } from "../services/media/src/speech/vad-webrtc";
import { callerTurn, TEST_VOICES, type TestVoice, PHRASES, phraseGrammar, wordErrors } from "@voicecall/media/testing";

async function runTurns(factory: SpeechFactory, audio: Map<string, Uint8Array>, grammar: string | undefined) {
  let errors = 0,
    words = 0,
    decodeMs = 0,
    audioMs = 0,
    missed = 0;
  for (const [text, mu] of audio) {
    const p = factory.open({ callId: "bench", signal: new AbortController().signal, grammar });
    const got: SpeechEvent[] = [];
    const done = (async () => {
      for await (const e of p.events) got.push(e);
    })();
    for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) p.push(mu.subarray(i, i + FRAME_BYTES));
    p.close();
    await done;
    const finals = got.filter(
      (e): e is Extract<SpeechEvent, { type: "transcript.final" }> => e.type === "transcript.final",
    );
    if (finals.length === 0) missed++;
    const hyp = finals.map((f) => f.text).join(" ");
    const w = wordErrors(text, hyp);
    errors += w.errors;
    words += w.words;
    for (const f of finals) ((decodeMs += f.decodeMs ?? 0), (audioMs += f.speechMs));
  }
  return { acc: 1 - errors / words, rtf: decodeMs / audioMs, missed };
}

/** Cost of `push` (decode + VAD + endpointer) per 20 ms frame, with an STT that does nothing. */
async function pushCost(mu: Uint8Array): Promise<number> {
  const nullStt: SpeechToText = {
    label: "null",
    capabilities: { partials: false, streaming: false },
    open: (): SttStream => {
      const q = new EventQueue<never>();
      return { pushFrame() {}, endUtterance() {}, results: q, close: () => q.end() };
    },
  };
  const p = openPipeline(
    { vad: await createWebrtcVad(), stt: nullStt },
    { callId: "cost", signal: new AbortController().signal },
  );
  const frames = Math.floor(mu.length / FRAME_BYTES);
  const t = performance.now();
  for (let r = 0; r < 20; r++)
    for (let i = 0; i < frames; i++) p.push(mu.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES));
  const us = ((performance.now() - t) * 1000) / (frames * 20);
  p.close();
  return us;
}

const noises = process.argv.slice(2).map(Number);
const rows: string[] = [];
const audio = new Map<TestVoice, Map<string, Uint8Array>>();
for (const v of TEST_VOICES) {
  const m = new Map<string, Uint8Array>();
  for (const p of PHRASES) m.set(p, await callerTurn(v, p, 500, 1000));
  audio.set(v, m);
}
for (const noise of noises.length ? noises : [0, 0.003]) {
  const cfg = parseConfig(speechConfigSchema, { STT_NOISE_RMS: String(noise) });
  const factory = await createSpeechPipelineFactory(cfg);
  for (const v of TEST_VOICES) {
    const open = await runTurns(factory, audio.get(v)!, undefined);
    const gram = await runTurns(factory, audio.get(v)!, phraseGrammar());
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    rows.push(
      `| ${v} | ${noise} | ${pct(open.acc)} | ${open.rtf.toFixed(3)} | ${pct(gram.acc)} | ${gram.rtf.toFixed(3)} | ${open.missed + gram.missed} |`,
    );
    console.error(rows.at(-1));
  }
  await factory.close();
}
const words = PHRASES.reduce((n, p) => n + p.split(" ").length, 0);
console.log(
  `${PHRASES.length} phrases, ${words} words per voice; RTF = decode time / speech time (whole utterance, worker thread)\n`,
);
console.log(
  "| voice | noise RMS | open vocabulary word accuracy | open RTF | JSGF grammar word accuracy | grammar RTF | turns without a final |",
);
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
console.log(
  `\npush() cost (mu-law decode + WebRTC VAD + endpointer): ${(await pushCost(audio.get("flite:rms")!.get(PHRASES[0])!)).toFixed(1)} µs per 20 ms frame`,
);
