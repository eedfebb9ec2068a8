import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { EventQueue } from "./event-queue";
import type { WorkerHello, WorkerReply, WorkerRequest } from "./pocketsphinx-protocol";
import type { NiceResult } from "./thread-nice";
import type { FixedHeard, Heard, SpeechToText, SttOpenOptions, SttResult, SttStream } from "./types";

export interface PocketsphinxOptions {
  /** Directory with `en-us/`, `en-us.lm.bin`, `cmudict-en-us.dict` (Debian pocketsphinx-en-us). */
  modelDir?: string;
  /** Default JSGF grammar for streams opened without one; undefined = open vocabulary. */
  grammar?: string;
  /** White noise RMS (0..1) added at 16 kHz before decoding (default 0.0005; 0 = off): digital silence (mu-law 0xFF) otherwise makes pocketsphinx return nothing for some voices. */
  noiseRms?: number;
  /**
   * JSGF of a small fixed grammar (second-opinion.ts): an open-vocabulary utterance heard over agent speech is
   * also decoded against it (its `fixed`), and a peek of one is decoded against it alone. Undefined = off.
   */
  secondOpinion?: string;
  /**
   * With a second opinion: the nice of the n-gram decoder's thread (0 = unchanged). Its decodes (0.15–3 s) hold a
   * core that the second opinion's short grammar decode, which a paused reply waits on, competes for.
   */
  ngramNice?: number;
  /** Rate the second opinion's decodes against the murmur sink (its `confidence`; a second decode). Default false. */
  secondOpinionRated?: boolean;
}

/** Offline STT with a worker-thread pocketsphinx: `close()` ends the worker. */
export interface PocketsphinxStt extends SpeechToText {
  /** Check a JSGF grammar now (rejects when pocketsphinx refuses it). */
  loadGrammar(jsgf: string): Promise<void>;
  /** Replace the default grammar used by streams opened from now on. */
  setDefaultGrammar(jsgf: string | undefined): void;
  /** Seconds the worker took to load the models. */
  readonly initMs: number;
  /** What setting the n-gram thread's nice did (undefined: not asked for). */
  readonly ngramNice?: NiceResult;
  close(): Promise<void>;
}

type WorkerRequestBody = WorkerRequest extends infer R
  ? R extends WorkerRequest
    ? Omit<R, "id" | "sentAt">
    : never
  : never;

/**
 * The worker's margin over the murmur sink (score per frame) on a 0..1 scale: −3 is 0.5 (between the
 * murmurs' −4 and the shortest words' +0.8 measured), ±10 either side of it is 1 or 0.
 */
function confidenceOf(margin: number | undefined): number | undefined {
  return margin === undefined ? undefined : Math.round(Math.max(0, Math.min(1, 0.5 + (margin + 3) / 20)) * 1000) / 1000;
}

/** Grammar search name: a stable hash of the text, so one grammar is compiled once per worker. */
function grammarName(jsgf: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < jsgf.length; i++) h = Math.imul(h ^ jsgf.charCodeAt(i), 0x01000193);
  return `g${(h >>> 0).toString(16)}_${jsgf.length}`;
}

/** Start a worker running a `.ts` module, under tsx's loader whether or not the parent has one. */
function startTsWorker(file: URL, workerData: unknown): Worker {
  // require.resolve only sees the CommonJS build, whose register() breaks in a worker: use its ESM twin.
  const cjs = createRequire(import.meta.url).resolve("tsx/esm/api");
  const tsxApi = pathToFileURL(cjs.replace(/\.cjs$/, ".mjs")).href;
  const code = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(file.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

/** One decoder thread: its requests, and its end. */
interface Decoder {
  call(req: WorkerRequestBody, transfer?: ArrayBuffer[]): Promise<WorkerReply>;
  initMs: number;
  nice?: NiceResult;
  close(): Promise<void>;
}

async function startDecoder(modelDir: string, lm: boolean, nice = 0): Promise<Decoder> {
  const worker = startTsWorker(new URL("./pocketsphinx-worker.ts", import.meta.url), { modelDir, lm, nice });
  worker.unref();
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | undefined;

  const hello = await new Promise<WorkerHello>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  if (!hello.ready) {
    await worker.terminate();
    throw new Error(hello.error);
  }
  const failAll = (err: Error) => {
    dead = err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on("message", (r: WorkerReply) => {
    const p = pending.get(r.id);
    pending.delete(r.id);
    p?.resolve(r);
  });
  worker.on("error", (err) => failAll(err));
  worker.on("exit", (code) => failAll(new Error(`pocketsphinx worker exited (${code})`)));

  return {
    initMs: hello.initMs,
    nice: hello.nice,
    call(req, transfer) {
      if (dead) return Promise.reject(dead);
      const id = nextId++;
      // Keep the worker (and so the process) alive only while a request is outstanding.
      if (pending.size === 0) worker.ref();
      return new Promise<WorkerReply>((resolve, reject) => {
        const done = () => pending.size === 0 && worker.unref();
        pending.set(id, { resolve: (r) => (resolve(r), done()), reject: (e) => (reject(e), done()) });
        worker.postMessage(
          { ...req, id, sentAt: performance.timeOrigin + performance.now() } as WorkerRequest,
          transfer,
        );
      });
    },
    async close() {
      failAll(new Error("pocketsphinx closed"));
      await worker.terminate();
    },
  };
}

/**
 * Pocketsphinx (Debian libpocketsphinx.so.3 via koffi) in one worker thread shared by all streams.
 * Utterance-level: it decodes each VAD-cut utterance whole on `endUtterance`; no partials. With a second
 * opinion, its fixed grammar has a decoder thread of its own (no n-gram model loaded): an n-gram decode holds
 * its thread for 0.2–3 s, and a barge-in check must not wait behind one.
 */
export async function createPocketsphinxStt(o: PocketsphinxOptions = {}): Promise<PocketsphinxStt> {
  const modelDir = o.modelDir ?? "/usr/share/pocketsphinx/model/en-us";
  const noiseRms = o.noiseRms ?? 0.0005;
  let defaultGrammar = o.grammar;
  const second = o.secondOpinion ? { name: grammarName(o.secondOpinion), jsgf: o.secondOpinion } : undefined;
  const rated = o.secondOpinionRated ?? false;
  // Niced only when the checks have a thread of their own: otherwise this thread decodes them too.
  const main = await startDecoder(modelDir, true, second ? (o.ngramNice ?? 0) : 0);
  const aside = second
    ? await startDecoder(modelDir, false).catch(async (err) => (await main.close(), Promise.reject(err)))
    : undefined;
  const call = main.call;

  /** A grammar decode a barge-in check waits on (ours to transfer: `pcm`), with its wall time split. */
  const checkOf = async (
    d: Decoder,
    pcm: Int16Array,
    grammar: { name: string; jsgf: string } | undefined,
    verify: boolean,
    prio: number,
  ): Promise<FixedHeard & { decodeMs?: number; queuedMs?: number; behindMs?: number; behindJobs?: number }> => {
    const asked = performance.now();
    const r = await d.call({ op: "decode", pcm, noiseRms, grammar, verify, prio }, [pcm.buffer as ArrayBuffer]);
    if (!r.ok) throw new Error(r.error);
    const wall = performance.now() - asked;
    return {
      text: r.text ?? "",
      confidence: confidenceOf(r.margin),
      decodeMs: r.decodeMs,
      queuedMs: r.decodeMs === undefined ? undefined : Math.max(0, wall - r.decodeMs),
      behindMs: r.behindMs,
      behindJobs: r.behindJobs,
    };
  };
  /** The second opinion's decode, on its own thread (rated only if asked: the rule reads its text). */
  const fixedOf = (pcm: Int16Array, prio: number) => checkOf(aside!, pcm, second, rated, prio);

  const open = (so: SttOpenOptions): SttStream => {
    const results = new EventQueue<SttResult>();
    let grammar = so.grammar ?? defaultGrammar;
    let chain: Promise<void> = Promise.resolve();
    const onAbort = () => results.end();
    so.signal.addEventListener("abort", onAbort, { once: true });
    return {
      pushFrame() {
        // Utterance-level engine: audio arrives whole through endUtterance.
      },
      endUtterance(pcm8k: Int16Array, eo?: { verify?: boolean; heard?: Promise<Heard> }) {
        if (results.ended || pcm8k.length === 0) return;
        const g = grammar ? { name: grammarName(grammar), jsgf: grammar } : undefined;
        const decode = (pcm: Int16Array): Promise<SttResult> =>
          call({ op: "decode", pcm, noiseRms, grammar: g, verify: eo?.verify }, [pcm.buffer as ArrayBuffer]).then(
            (r) => {
              if (!r.ok) throw new Error(r.error);
              const confidence = confidenceOf(r.margin);
              return { final: true, text: r.text ?? "", confidence, decodeMs: r.decodeMs, audioMs: r.audioMs };
            },
          );
        const audioMs = pcm8k.length / 8;
        let result: Promise<SttResult>;
        if (!g && second && eo?.verify) {
          // Open vocabulary over agent speech: the n-gram text (for the history) and the fixed grammar's hearing
          // (for the turn decision); a peek of the same audio already has the latter. The fixed one goes first.
          const fixed = eo.heard
            ? eo.heard.then(
                (h) => h.fixed ?? fixedOf(pcm8k.slice(), 1),
                () => fixedOf(pcm8k.slice(), 1),
              )
            : fixedOf(pcm8k.slice(), 1);
          const text = decode(pcm8k.slice());
          result = Promise.all([text, fixed]).then(([r, f]) => ({
            ...r,
            text: r.text || f.text, // the n-gram heard nothing, the grammar did: the history keeps that
            fixed: { text: f.text, confidence: f.confidence },
            decodeMs: (r.decodeMs ?? 0) + ("decodeMs" in f ? (f.decodeMs ?? 0) : 0),
          }));
        } else {
          // A peek of the same audio answers for it (decoded again only if that failed).
          const copy = eo?.heard ? pcm8k : undefined;
          result = eo?.heard
            ? eo.heard.then(
                (h): SttResult => ({ final: true, text: h.text, confidence: h.confidence, decodeMs: 0, audioMs }),
                () => decode(copy!.slice()),
              )
            : decode(pcm8k.slice()); // ours to transfer: the caller's buffer stays usable
        }
        // Results stay in utterance order even if a later reply were to come back first.
        chain = chain.then(() =>
          result.then(
            (r) => void results.push(r),
            (err: Error) => results.fail(err),
          ),
        );
      },
      setGrammar(jsgf) {
        grammar = jsgf;
      },
      async peek(pcm8k: Int16Array) {
        const g = grammar ? { name: grammarName(grammar), jsgf: grammar } : undefined;
        // A peek is only ever a barge-in check (a paused reply waits on it): ahead of finals. Open vocabulary with
        // a second opinion: the fixed grammar alone decides it (its text is the final's only if the n-gram's is empty).
        if (!g && second) {
          const f = await fixedOf(pcm8k.slice(), 0);
          return {
            text: f.text,
            fixed: { text: f.text, confidence: f.confidence },
            decodeMs: f.decodeMs,
            queuedMs: f.queuedMs,
            behindMs: f.behindMs,
            behindJobs: f.behindJobs,
          };
        }
        return checkOf(main, pcm8k.slice(), g, true, 0); // always rated
      },
      get results() {
        return results;
      },
      close() {
        so.signal.removeEventListener("abort", onAbort);
        // Let a decode already queued deliver its final, then end.
        void chain.then(() => results.end());
      },
    };
  };

  if (aside && second) {
    // Fail at start, not on the first murmur over the agent.
    const r = await aside.call({ op: "grammar", ...second });
    if (!r.ok) throw new Error(r.error);
  }

  return {
    label: "pocketsphinx",
    capabilities: { partials: false, streaming: false },
    initMs: main.initMs,
    ngramNice: main.nice,
    open,
    async loadGrammar(jsgf) {
      const r = await call({ op: "grammar", name: grammarName(jsgf), jsgf });
      if (!r.ok) throw new Error(r.error);
    },
    setDefaultGrammar(jsgf) {
      defaultGrammar = jsgf;
    },
    async close() {
      await Promise.all([main.close(), aside?.close()]);
    },
  };
}
