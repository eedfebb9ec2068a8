import type { Phone } from "@voicecall/twilio-sim";
import type { CallerAudio } from "./audio";
import { echoFrame, type Noise } from "./noises";

/** One bus event as media/agent published it (wall-clock `ts`). */
export interface BusEvent {
  type: string;
  ts: number;
  [k: string]: unknown;
}

/** What one simulated call measured. Absolute times are epoch ms. */
export interface CallResult {
  callId?: string;
  ok: boolean;
  error?: string;
  /** Epoch ms: the stream's `start` sent, and the greeting's first audio heard (for the per-hop split). */
  startAbs?: number;
  greetAbs?: number;
  /** stream `start` sent → first greeting audio received by the caller. */
  greetingMs?: number;
  /** Split of the greeting: `start` sent → media's `stream.started` (token, Redis checks, lease) … */
  greetingStartMs?: number;
  /** … and `stream.started` → first greeting frame heard (agent, say, tts cache, bus, playout). */
  greetingDeliverMs?: number;
  /** Per answered turn: transcript.final (bus) → first reply audio received. */
  overheadMs: number[];
  /** Per answered turn: caller's last voiced frame sent → first reply audio received. */
  voiceToVoiceMs: number[];
  /** Caller voice onset (first frame sent) → `clear` received. */
  bargeInMs: number[];
  /** speech.started (bus) → `clear` received: the part after the VAD onset and the barge-in hold. */
  bargeInAfterVadMs: number[];
  /** Heard audio gaps inside an utterance (the player ran dry), and their lengths. */
  underruns: number;
  underrunMs: number[];
  heardMs: number;
  /** Per barge-in: media's interrupted.playedMs minus what the caller heard of that utterance (ms). */
  playedErrorMs: number[];
  /** Per barge-in: the error media reported with it (interrupted.playedErrMs). */
  reportedErrorMs: number[];
  /** Scripted noises/backchannels played over agent speech, and what media did about them. */
  noises: number;
  /** Noises that paused agent speech (a false interruption: the agent stopped for a non-turn). */
  interruptions: number;
  /** Of those, paused and then resumed where it stopped (recovered within FALSE_INTERRUPTION_MS). */
  falseInterruptions: number;
  turns: number;
  /** Sentences said over agent speech, and of those the ones media cut (`clear`). */
  bargeIns: number;
  bargeInsCut: number;
  /** Barge-ins after which the cut reply came back (`resumed`): the replay bug. */
  bargeInsReplayed: number;
  /** Per scripted noise played over agent speech: what happened to the utterance. */
  perNoise: NoiseOutcome[];
  /** The agent ended the call before the duration was up (it heard a goodbye). */
  endedByAgent?: boolean;
  /** The noise last played before the agent ended the call, if it ended during the noise rounds. */
  endedAfterNoise?: string;
}

/** One noise over agent speech. Times are ms after the noise ended (its last frame sent). */
export interface NoiseOutcome {
  name: string;
  /** `interrupted` came (the agent stopped). */
  paused: boolean;
  /** `resumed` came (it went on where it stopped), and when. */
  resumed: boolean;
  resumedAfterEndMs?: number;
  /** Media's account of that resume (the `resumed` event): what decided it, the caller's quiet before it, the check's decode. */
  resume?: {
    by?: string;
    quietMs?: number;
    checkMs?: number;
    decodeMs?: number;
    queuedMs?: number;
    behindMs?: number;
    behindJobs?: number;
  };
  /** The agent took a turn on it (`agent.turn`). */
  tookTurn: boolean;
  /** What the recogniser made of it (`transcript.final` texts), for the report. */
  heard: string[];
}

/** Places one call to `to` and hands back its id and the simulator's end of it (ours: the API; the limit: an inbound call). */
export type Dial = (to: string, greeting: string, signal: AbortSignal) => Promise<{ callId: string; phone: Phone }>;

export interface DriveOptions {
  dial: Dial;
  events: Map<string, BusEvent[]>;
  audio: CallerAudio;
  index: number;
  greeting: string;
  durationMs: number;
  withNoises: boolean;
  signal: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The number call `index` dials: the driver pool routes the stack's REST requests for it by this. */
export const callerNumber = (index: number): string => `+1415${String(5_000_000 + index).padStart(7, "0")}`;

export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (signal?.aborted) throw new Error(`aborted waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

interface Chunk {
  atMs: number;
  bytes: Uint8Array;
}
/** The simulator's played chunks (atMs since call creation, contiguous unless the player ran dry). */
const chunksOf = (p: Phone): Chunk[] => (p.call.recorder as unknown as { chunks: Chunk[] }).chunks;
const t0Of = (p: Phone): number => p.call.recorder.t0;

/** The played audio (`bytes` of it) that was heard at `absMs` (epoch ms), if any was. */
function heardAt(p: Phone, absMs: number, bytes: number): Uint8Array | undefined {
  const rel = absMs - t0Of(p);
  const chunks = chunksOf(p);
  for (let i = chunks.length - 1; i >= 0; i--) {
    const c = chunks[i]!;
    if (c.atMs > rel) continue;
    const off = Math.floor((rel - c.atMs) * 8);
    return off < c.bytes.length ? c.bytes.subarray(off, off + bytes) : undefined;
  }
  return undefined;
}

/**
 * Track when the caller's voice goes out (the first and the last frame of each `say`), and while
 * `echo` is set, mix the agent's own heard audio back into the caller's line (speakerphone echo).
 */
function watchMouth(p: Phone): {
  onsets: number[];
  ends: number[];
  echo?: { until: number; gainDb: number; delayMs: number };
} {
  const mouth = p.call.mouth;
  const next = mouth.next.bind(mouth);
  const w: ReturnType<typeof watchMouth> = { onsets: [], ends: [] };
  let talking = false;
  mouth.next = () => {
    const f = next();
    const now = Date.now();
    if (f && !talking) w.onsets.push(now);
    if (!f && talking) w.ends.push(now);
    talking = !!f;
    if (w.echo && now < w.echo.until) return echoFrame((at, n) => heardAt(p, at, n), now, w.echo, f);
    return f;
  };
  return w;
}

/** Agent audio is playing right now (the last heard chunk ends within a frame or two of now). */
function audioFlowing(p: Phone): boolean {
  const last = chunksOf(p).at(-1);
  return !!last && t0Of(p) + last.atMs + last.bytes.length / 8 >= Date.now() - 60;
}

/** First heard audio at or after `fromAbs` (epoch ms), if any. */
function firstHeardAfter(p: Phone, fromAbs: number): number | undefined {
  // Polled every 10 ms per call while waiting, over a list that grows by 50 chunks a second: a binary
  // search (the player records chunks in playback order) instead of a scan from the start.
  const t0 = t0Of(p);
  const chunks = chunksOf(p);
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t0 + chunks[mid]!.atMs >= fromAbs) hi = mid;
    else lo = mid + 1;
  }
  return lo < chunks.length ? t0 + chunks[lo]!.atMs : undefined;
}

/**
 * One call: API create → simulator rings and streams through Caddy → greeting heard → turns of
 * (caller asks → reply heard → caller barges in, or noises in the offline scenario) until the
 * duration is up → caller hangs up.
 */
export async function driveCall(o: DriveOptions): Promise<CallResult> {
  const r: CallResult = {
    ok: false,
    overheadMs: [],
    voiceToVoiceMs: [],
    bargeInMs: [],
    bargeInAfterVadMs: [],
    underruns: 0,
    underrunMs: [],
    heardMs: 0,
    playedErrorMs: [],
    reportedErrorMs: [],
    noises: 0,
    interruptions: 0,
    falseInterruptions: 0,
    turns: 0,
    bargeIns: 0,
    bargeInsCut: 0,
    bargeInsReplayed: 0,
    perNoise: [],
  };
  let lastNoise: string | undefined;
  const to = callerNumber(o.index);
  let phone: Phone | undefined;
  try {
    const placed = await o.dial(to, o.greeting, o.signal);
    const callId = placed.callId;
    r.callId = callId;
    phone = placed.phone;
    const ev = () => o.events.get(callId) ?? [];
    const evAfter = (type: string, fromAbs: number, pred: (e: BusEvent) => boolean = () => true) =>
      ev().find((e) => e.type === type && e.ts >= fromAbs && pred(e));
    const p = phone;
    const mouth = watchMouth(p);
    await p.waitForStream(1, 60_000);
    const started = await until(
      () => p.events.find((e) => e.type === "stream.started"),
      "stream.started",
      30_000,
      o.signal,
    );
    const startAbs = t0Of(p) + started.atMs;
    // Greeting: first audio heard, then its done mark (the whole greeting played).
    const greetAbs = await until(() => firstHeardAfter(p, startAbs), "greeting audio", 60_000, o.signal);
    r.greetingMs = greetAbs - startAbs;
    r.startAbs = startAbs;
    r.greetAbs = greetAbs;
    // Media plays a pre-rendered greeting before it announces the stream: its event may come after the audio.
    const mediaStarted = await until(
      () => evAfter("stream.started", startAbs - 1000),
      "media's stream.started",
      5000,
      o.signal,
    ).catch(() => undefined);
    if (mediaStarted) {
      r.greetingStartMs = mediaStarted.ts - startAbs;
      r.greetingDeliverMs = greetAbs - mediaStarted.ts;
    }
    await until(() => evAfter("playback.mark", startAbs, (e) => e.done === true), "greeting played", 90_000, o.signal);
    const deadline = Date.now() + o.durationMs;
    do {
      // A turn: the caller asks; the reply's first audio is measured from its last frame and the final.
      if (p.status !== "in-progress") {
        r.endedByAgent = true; // e.g. a noise heard as "no thanks": the agent said goodbye and hung up
        r.endedAfterNoise = lastNoise;
        break;
      }
      const askedAt = Date.now();
      await p.say(o.audio.question);
      const endAbs = await until(() => mouth.ends.find((t) => t >= askedAt), "end of caller speech", 10_000, o.signal);
      const replyAbs = await until(
        () => firstHeardAfter(p, endAbs) ?? (p.status !== "in-progress" ? -1 : undefined),
        "reply audio",
        60_000,
        o.signal,
      );
      if (replyAbs < 0) {
        r.endedByAgent = true;
        r.endedAfterNoise = lastNoise;
        break;
      }
      r.turns++;
      r.voiceToVoiceMs.push(replyAbs - endAbs);
      const finals = ev().filter((e) => e.type === "transcript.final" && e.ts >= askedAt && e.ts <= replyAbs);
      if (finals.length) r.overheadMs.push(replyAbs - finals[finals.length - 1]!.ts);
      await sleep(600);
      // Barge-in: the caller talks over the reply; measured to the `clear` the simulator receives.
      if (p.status === "in-progress") {
        const bargeAt = Date.now();
        const clearsBefore = p.call.recorder.clears.length;
        const speaking = audioFlowing(p);
        await p.say(o.audio.question);
        if (speaking) {
          r.bargeIns++;
          const onset = mouth.onsets.find((t) => t >= bargeAt);
          const clear = await until(
            () => p.call.recorder.clears.slice(clearsBefore)[0],
            "clear after barge-in",
            10_000,
            o.signal,
          ).catch(() => undefined);
          if (clear) r.bargeInsCut++;
          if (clear && onset) {
            const clearAbs = t0Of(p) + clear.atMs;
            r.bargeInMs.push(clearAbs - onset);
            const vad = evAfter("speech.started", onset);
            if (vad && vad.ts <= clearAbs) r.bargeInAfterVadMs.push(clearAbs - vad.ts);
          }
        }
        // The barge-in was a real turn: wait for its reply before the next round.
        const endAbs = await until(
          () => mouth.ends.find((t) => t >= bargeAt) ?? (p.status !== "in-progress" && Date.now()),
          "end of barge-in speech",
          10_000,
          o.signal,
        );
        await until(() => firstHeardAfter(p, endAbs), "reply after barge-in", 60_000, o.signal).catch(() => undefined);
        if (speaking && evAfter("resumed", bargeAt)) r.bargeInsReplayed++;
        await sleep(300);
      }
      if (o.withNoises) {
        // Non-turns over the reply to the barge-in, a few per reply, each call starting at a different one:
        // each should at most pause it briefly and resume.
        await sleep(300);
        const list = o.audio.noises;
        for (let k = 0; k < list.length; k++) {
          const n = list[(r.noises + o.index) % list.length]!;
          if (o.signal.aborted || p.status !== "in-progress" || !audioFlowing(p)) break;
          lastNoise = n.name;
          r.noises++;
          r.perNoise.push(await playNoise(p, mouth, n, ev));
        }
        r.interruptions = r.perNoise.filter((x) => x.paused).length;
        r.falseInterruptions = r.perNoise.filter((x) => x.paused && x.resumed).length;
      }
    } while (Date.now() < deadline && !o.signal.aborted);
    r.ok = true;
  } catch (err) {
    r.error = (err as Error).message;
  } finally {
    if (phone) {
      await phone.hangup().catch(() => undefined);
      Object.assign(
        r,
        gaps(phone, (r.callId && o.events.get(r.callId)) || []),
        playedErrors(phone, (r.callId && o.events.get(r.callId)) || []),
      );
    }
  }
  return r;
}

/** Play one noise over agent speech and score what media and the agent did about it. */
async function playNoise(
  p: Phone,
  mouth: ReturnType<typeof watchMouth>,
  n: Noise,
  ev: () => BusEvent[],
): Promise<NoiseOutcome> {
  const at = Date.now();
  let endAbs: number;
  if (n.echo) {
    mouth.echo = { until: at + n.echo.ms, gainDb: n.echo.gainDb, delayMs: n.echo.delayMs };
    await sleep(n.echo.ms);
    endAbs = Date.now();
    mouth.echo = undefined;
  } else {
    await p.say(n.mu!);
    endAbs = mouth.ends.find((t) => t >= at) ?? Date.now();
  }
  // Long enough for the endpoint silence (600 ms), a decode on a loaded machine and the resume.
  await sleep(3000);
  const inWindow = (type: string) => ev().filter((e) => e.type === type && e.ts >= at && e.ts <= Date.now());
  const resumed = inWindow("resumed")[0];
  return {
    name: n.name,
    paused: inWindow("interrupted").length > 0,
    resumed: !!resumed,
    resumedAfterEndMs: resumed ? resumed.ts - endAbs : undefined,
    resume: resumed
      ? {
          by: resumed.by as string | undefined,
          quietMs: resumed.quietMs as number | undefined,
          checkMs: resumed.checkMs as number | undefined,
          decodeMs: resumed.decodeMs as number | undefined,
          queuedMs: resumed.queuedMs as number | undefined,
          behindMs: resumed.behindMs as number | undefined,
          behindJobs: resumed.behindJobs as number | undefined,
        }
      : undefined,
    tookTurn: inWindow("agent.turn").length > 0,
    heard: inWindow("transcript.final").map((e) => `${String(e.text)}${e.backchannel ? " (backchannel)" : ""}`),
  };
}

/**
 * Gaps in what the caller heard. The simulator plays queued audio back to back; a gap means its queue
 * ran dry. A gap counts as an underrun only inside an utterance: no done mark, clear or barge-in
 * event falls between the end of the audio before it and the start of the audio after it.
 */
export function gaps(p: Phone, events: BusEvent[]): Pick<CallResult, "underruns" | "underrunMs" | "heardMs"> {
  const t0 = t0Of(p);
  const chunks = chunksOf(p);
  const boundaries = [
    ...events
      .filter(
        (e) => (e.type === "playback.mark" && e.done === true) || e.type === "interrupted" || e.type === "resumed",
      )
      .map((e) => e.ts - t0),
    ...p.call.recorder.clears.map((c) => c.atMs),
  ];
  // Where utterances (or runs after a clear) begin, in ms of heard audio: media marks each one's start, and
  // the simulator notes the playhead there. Over a network the done event comes half a round trip after the
  // audio ended, so a silence between two utterances is told apart by these positions, not by event times.
  const h = p.heard();
  const starts = new Set<number>();
  let prevUtt = "";
  let nextClear = 0;
  for (const m of h.marks) {
    const utt = m.name.slice(0, m.name.lastIndexOf(":"));
    const afterClear = nextClear < h.clears.length && m.receivedAtMs > h.clears[nextClear]!.atMs;
    if (afterClear) while (nextClear < h.clears.length && m.receivedAtMs > h.clears[nextClear]!.atMs) nextClear++;
    if ((utt !== prevUtt || afterClear) && m.heardMs !== undefined) starts.add(Math.round(m.heardMs));
    prevUtt = utt;
  }
  const underrunMs: number[] = [];
  let heard = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i]!;
    const before = heard;
    heard += c.bytes.length / 8;
    if (i === 0) continue;
    const prev = chunks[i - 1]!;
    const prevEnd = prev.atMs + prev.bytes.length / 8;
    const gap = c.atMs - prevEnd;
    if (gap <= 2) continue;
    if (boundaries.some((b) => b >= prevEnd - 60 && b <= c.atMs + 5)) continue;
    if ([-1, 0, 1].some((d) => starts.has(Math.round(before) + d))) continue;
    underrunMs.push(gap);
  }
  return { underruns: underrunMs.length, underrunMs, heardMs: heard };
}

/**
 * For each barge-in, media's estimate of what the caller heard against what the simulator played. The
 * simulator's truth: from the mark media sends before an utterance's first audio (where the caller began to
 * hear it) to where the `clear` found the playhead. A cut after a resume is measured from the resumed run's
 * start mark plus `resumed.fromMs`.
 */
export function playedErrors(p: Phone, events: BusEvent[]): Pick<CallResult, "playedErrorMs" | "reportedErrorMs"> {
  const h = p.heard();
  const t0 = t0Of(p);
  const out: Pick<CallResult, "playedErrorMs" | "reportedErrorMs"> = { playedErrorMs: [], reportedErrorMs: [] };
  for (const e of events) {
    // A barge-in's own cut carries its reported error; the other utterances a confirmed turn drops do not.
    if (e.type !== "interrupted" || typeof e.playedMs !== "number" || typeof e.playedErrMs !== "number") continue;
    const id = String(e.utteranceId);
    const k = h.clears.findIndex((c) => t0 + c.atMs >= e.ts - 5);
    if (k < 0) continue;
    const prevAt = k > 0 ? h.clears[k - 1]!.atMs : -Infinity;
    const start = h.marks.find(
      (m) => m.name.startsWith(`${id}:`) && m.receivedAtMs > prevAt && m.heardMs !== undefined,
    );
    if (!start) continue;
    const resumed = events.filter((x) => x.type === "resumed" && x.utteranceId === id && x.ts <= e.ts).at(-1);
    const heard = Math.min(Number(e.totalMs), Number(resumed?.fromMs ?? 0) + h.clears[k]!.heardMs - start.heardMs!);
    out.playedErrorMs.push(e.playedMs - heard);
    out.reportedErrorMs.push(e.playedErrMs);
  }
  return out;
}
