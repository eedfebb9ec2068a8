/** Messages between `stt-pocketsphinx.ts` and its worker thread. */
import type { NiceResult } from "./thread-nice";

export type WorkerRequest =
  | { id: number; op: "grammar"; name: string; jsgf: string }
  | {
      id: number;
      op: "decode";
      pcm: Int16Array;
      noiseRms: number;
      grammar?: { name: string; jsgf: string };
      verify?: boolean;
      /** Open vocabulary: also report the lattice posteriors (a measurement, bench/open-posteriors.ts). */
      posteriors?: boolean;
      /** Queue order in the worker: lower first, then arrival (0: a barge-in check a paused reply waits on). */
      prio?: number;
      /** When it was posted (epoch ms, `performance.timeOrigin + now()`, comparable across threads). */
      sentAt: number;
    };

export type WorkerReply =
  | {
      id: number;
      ok: true;
      text?: string;
      score?: number;
      margin?: number;
      /** Open vocabulary, rated: the hypothesis's lattice posterior and each word's (0..1). */
      posterior?: number;
      wordPosteriors?: number[];
      decodeMs?: number;
      /** Time (ms) from posting the request to its decode's start: delivery, the decode running then, the queue. */
      behindMs?: number;
      /** Jobs the worker started in that time after the request came off its port. */
      behindJobs?: number;
      audioMs?: number;
    }
  | { id: number; ok: false; error: string };

/** `nice`: what setting the thread's nice did (absent: not asked). */
export type WorkerHello = { ready: true; initMs: number; nice?: NiceResult } | { ready: false; error: string };
