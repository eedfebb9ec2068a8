/**
 * Worker thread holding one pocketsphinx decoder (Debian libpocketsphinx.so.3 through koffi).
 * Decoding blocks, so it lives here, off the media event loop. Decodes run one at a time, the most
 * urgent first (`prio`: an early barge-in check, which a paused reply waits on, goes ahead of finals;
 * a rated result's sink decode is a job of its own), then in arrival order (decode-queue.ts). Each utterance is decoded whole (full_utt): pocketsphinx's incremental mode
 * falls apart on phone-band audio.
 */
import { parentPort, workerData } from "node:worker_threads";
import koffi from "koffi";
import libsamplerate from "@alexanderolsen/libsamplerate-js";
import type { WorkerRequest, WorkerReply } from "./pocketsphinx-protocol";
import { niceThisThread } from "./thread-nice";
import { nextJob } from "./decode-queue";

/**
 * `lm: false`: no n-gram model (a decoder for grammars only: the second opinion's, which loads faster and smaller).
 * `nice`: this thread's nice (0 = as started), set before the models load.
 */
const { modelDir, lm = true, nice = 0 } = workerData as { modelDir: string; lm?: boolean; nice?: number };
const niced = niceThisThread(nice);
const sb = koffi.load("libsphinxbase.so.3");
const ps = koffi.load("libpocketsphinx.so.3");
const err_set_logfp = sb.func("void err_set_logfp(void *fp)");
const cmd_ln_init = sb.func("void *cmd_ln_init(void *inout, void *defn, int strict, ...)");
const ps_args = ps.func("void *ps_args()");
const ps_init = ps.func("void *ps_init(void *config)");
const ps_start_utt = ps.func("int ps_start_utt(void *ps)");
const ps_process_raw = ps.func(
  "int ps_process_raw(void *ps, const int16_t *data, size_t n, int no_search, int full_utt)",
);
const ps_end_utt = ps.func("int ps_end_utt(void *ps)");
const ps_get_hyp = ps.func("const char *ps_get_hyp(void *ps, _Out_ int32_t *score)");
const ps_set_jsgf_string = ps.func("int ps_set_jsgf_string(void *ps, const char *name, const char *jsgf)");
const ps_set_search = ps.func("int ps_set_search(void *ps, const char *name)");
const ps_get_search = ps.func("const char *ps_get_search(void *ps)");
const ps_get_n_frames = ps.func("int ps_get_n_frames(void *ps)");
const ps_get_prob = ps.func("int32_t ps_get_prob(void *ps)");
const ps_seg_iter = ps.func("void *ps_seg_iter(void *ps)");
const ps_seg_next = ps.func("void *ps_seg_next(void *seg)");
const ps_seg_word = ps.func("const char *ps_seg_word(void *seg)");
const ps_seg_prob = ps.func(
  "int32_t ps_seg_prob(void *seg, _Out_ int32_t *ascr, _Out_ int32_t *lscr, _Out_ int32_t *lback)",
);
const ps_seg_free = ps.func("void ps_seg_free(void *seg)");

err_set_logfp(null); // the library logs a screenful per utterance to stderr otherwise

const t0 = performance.now();
const s = (v: string) => ["str", v];
const config = cmd_ln_init(
  null,
  ps_args(),
  1,
  ...s("-hmm"),
  ...s(`${modelDir}/en-us`),
  ...(lm ? [...s("-lm"), ...s(`${modelDir}/en-us.lm.bin`)] : []),
  ...s("-dict"),
  ...s(`${modelDir}/cmudict-en-us.dict`),
  ...s("-samprate"),
  ...s("16000"),
  "void *",
  null,
);
const decoder = config ? ps_init(config) : null;
const lmSearch: string = decoder ? ps_get_search(decoder) : "";
const grammars = new Set<string>();
// A CommonJS/UMD bundle: its named exports only come through the default import.
const resampler = await libsamplerate.create(1, 8000, 16000, {
  converterType: libsamplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY,
});
let seed = 0x2545f491;

/** 8 kHz PCM → 16 kHz PCM (libsamplerate) with optional faint white noise (deterministic PRNG). */
function prepare(pcm8k: Int16Array, noiseRms: number): Int16Array {
  const f = new Float32Array(pcm8k.length);
  for (let i = 0; i < f.length; i++) f[i] = pcm8k[i]! / 32768;
  const up = resampler.simple(f);
  const out = new Int16Array(up.length);
  const amp = noiseRms * Math.sqrt(3) * 32768; // uniform noise in [-a, a] has RMS a/√3
  for (let i = 0; i < out.length; i++) {
    let v = up[i]! * 32768;
    if (amp > 0) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      v += ((seed >>> 0) / 4294967296 - 0.5) * 2 * amp;
    }
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
  }
  return out;
}

function addGrammar(name: string, jsgf: string): void {
  if (grammars.has(name)) return;
  if (ps_set_jsgf_string(decoder, name, jsgf) !== 0)
    throw new Error("JSGF grammar rejected (syntax, or a word missing from the dictionary)");
  grammars.add(name);
}

/**
 * The garbage model for grammar results: the same audio decoded against only the murmurs a caller makes
 * (libs/dialogue's backchannel and acknowledgement phrases). A grammar decoder must map any sound onto
 * some phrase; a murmur fits the sink about as well as the phrase it was mapped onto, words fit their
 * phrase far better. Measured on the bench's flite voice (total path score per 10 ms frame, phrase − sink):
 * script sentences +16…+25, one-word answers and "stop"/"sorry"/"wait" +0.8…+13, noises and murmurs
 * mapped onto a phrase −4…−20 (docs/performance.md). The acoustic cost of the words alone separated them
 * less (one-word answers fit as badly as murmurs).
 */
const SINK =
  "#JSGF V1.0;\ngrammar sink;\npublic <sink> = ( uh huh ) | ( mm hmm ) | ( mhm ) | ( hmm ) | ( huh ) | ( uh ) | ( mm ) | ( right ) | ( alright );\n";
const SINK_WORDS = new Set(["uh", "huh", "mm", "hmm", "mhm", "right", "alright"]);

/** A murmur-only hypothesis: nothing to rate against the sink. */
const isMurmur = (hyp: string) => hyp.split(" ").every((w) => SINK_WORDS.has(w.replace(/\(\d+\)$/, "")));

/** Score margin per frame of a hypothesis (path score `score` over `frames`) over the sink on the same audio. */
function sinkMargin(pcm: Int16Array, score: number, frames: number): number | undefined {
  addGrammar("sink", SINK);
  if (frames <= 0 || ps_set_search(decoder, "sink") !== 0) return undefined;
  ps_start_utt(decoder);
  ps_process_raw(decoder, pcm, pcm.length, 0, 1);
  ps_end_utt(decoder);
  const sink = [0];
  ps_get_hyp(decoder, sink);
  return (score - sink[0]!) / frames;
}

/**
 * One piece of work for the decoder: a request, or the sink decode that finishes a rated one (queued on its
 * own, so a peek waits for at most one decode of a final, not both). Lower `prio` first, then arrival.
 */
interface Job {
  prio: number;
  id: number;
  run(): WorkerReply | Job;
}

/** Log-domain scores are in base 1.0001 (pocketsphinx's default `-logbase`). */
const LOG_BASE = Math.log(1.0001);

/**
 * Open vocabulary: the lattice posterior of the hypothesis and of each of its words (0..1), the lowest
 * word's being the confidence. A word the lattice is sure of beat every competing path through its frames;
 * a murmur decoded as "the hood" competes with "a hood", "the who'd", … (the n-gram decode's guess).
 */
function posteriors(): { post: number; words: number[] } {
  const post = Math.exp((ps_get_prob(decoder) as number) * LOG_BASE);
  const words: number[] = [];
  for (let seg = ps_seg_iter(decoder); seg; seg = ps_seg_next(seg)) {
    const w = ps_seg_word(seg) as string;
    if (w.startsWith("<") || w.startsWith("[") || w.startsWith("+")) continue; // <s>, <sil>, [NOISE], fillers
    const a = [0];
    const l = [0];
    const b = [0];
    words.push(Math.exp((ps_seg_prob(seg, a, l, b) as number) * LOG_BASE));
  }
  return { post, words };
}

/** Jobs run so far: a reply's `behindJobs` is how many ran between its request's arrival and its decode. */
let ran = 0;

function handle(req: WorkerRequest, ranBefore: number): WorkerReply | Job {
  if (req.op === "grammar") {
    addGrammar(req.name, req.jsgf);
    return { id: req.id, ok: true };
  }
  let search = lmSearch;
  if (req.grammar) {
    addGrammar(req.grammar.name, req.grammar.jsgf);
    search = req.grammar.name;
  }
  const started = performance.now();
  if (ps_set_search(decoder, search) !== 0) throw new Error(`search ${search} could not be selected`);
  const pcm = prepare(req.pcm, req.noiseRms);
  if (ps_start_utt(decoder) < 0) throw new Error("ps_start_utt failed");
  ps_process_raw(decoder, pcm, pcm.length, 0, 1);
  ps_end_utt(decoder);
  const score = [0];
  const hyp = ps_get_hyp(decoder, score) as string | null;
  // Measured, not used (bench/open-posteriors.ts): they do not separate murmurs from short answers (docs/performance.md).
  const post = !req.grammar && req.posteriors && hyp ? posteriors() : undefined;
  const reply = {
    id: req.id,
    ok: true as const,
    text: hyp ?? "",
    score: score[0],
    posterior: post?.post,
    wordPosteriors: post?.words,
    decodeMs: performance.now() - started,
    behindMs: performance.timeOrigin + started - req.sentAt,
    behindJobs: ran - 1 - ranBefore,
    audioMs: req.pcm.length / 8,
  };
  // Rated only when asked (heard over agent speech): the sink decode costs ~60 % of the first one. It is
  // queued just ahead of its own class (a peek's before other peeks, a final's before other finals).
  if (!req.grammar || !req.verify || !hyp || isMurmur(hyp)) return reply;
  const frames = ps_get_n_frames(decoder) as number;
  return {
    prio: (req.prio ?? 1) - 0.5,
    id: req.id,
    run() {
      const t = performance.now();
      const margin = sinkMargin(pcm, score[0]!, frames);
      return { ...reply, margin, decodeMs: reply.decodeMs + performance.now() - t };
    },
  };
}

if (!decoder) {
  parentPort!.postMessage({ ready: false, error: `pocketsphinx failed to load models from ${modelDir}` });
} else {
  parentPort!.postMessage({ ready: true, initMs: performance.now() - t0, nice: niced });
  // Messages sent while a decode blocks are delivered after it, all before the next `setImmediate`: the
  // queue then holds every waiting request and the most urgent goes next.
  const queue: Job[] = [];
  let draining = false;
  const next = () => {
    const job = queue.splice(nextJob(queue), 1)[0]!;
    ran++;
    let out: WorkerReply | Job;
    try {
      out = job.run();
    } catch (err) {
      out = { id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    if ("run" in out) queue.push(out);
    else parentPort!.postMessage(out);
    if (queue.length) setImmediate(next);
    else draining = false;
  };
  parentPort!.on("message", (req: WorkerRequest) => {
    const ranBefore = ran;
    const decode = req.op === "decode";
    queue.push({
      prio: decode ? (req.prio ?? 1) : 1,
      id: req.id,
      run: () => handle(req, ranBefore),
    });
    if (!draining) {
      draining = true;
      setImmediate(next);
    }
  });
}
