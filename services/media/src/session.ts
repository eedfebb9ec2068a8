import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { Subscription } from "nats";
import type { Bus } from "@voicecall/bus";
import type { CallStore } from "@voicecall/store";
import type { Logger } from "@voicecall/log";
import { callLogger } from "@voicecall/log";
import { every } from "@voicecall/runtime";
import { toFrames, FRAME_BYTES } from "@voicecall/audio";
import { CallEvent, ControlMessage, parseAudioHeaders, subjects, type AudioChunkHeaders } from "@voicecall/contracts";
import type { MediaConfig } from "./config";
import type { SpeechPipelineFactory } from "./speech/types";
import { mediaAudio, type InboundFrame, type StartFrame } from "./twilio-codec";
import { Playout, msOf, type UtteranceAudio } from "./playout";
import { BargeInPolicy, realWords, type BargeInConfig } from "./barge-in";
import { SpeechLoop } from "./speech-loop";
import { greetingToPlay, readPrerendered, type PrerenderedGreetingAudio } from "./prerendered-greeting";
import { dtmfTones } from "./dtmf-tones";
import type { Metrics } from "@voicecall/runtime";
import type { CallRecord } from "@voicecall/contracts";
import type { RealtimeBridge, RealtimeBridges } from "./realtime/index";
import { admitStream, type StreamIdentity } from "./admission";
import { streamEvents, type Emit, type PublishedEvent, type StreamEvent } from "./stream-events";
import { TurnLatency } from "./turn-latency";
import { reportStreamEnd, type EndReason } from "./stream-end";

export interface SessionDeps {
  cfg: MediaConfig;
  bus: Bus;
  store: CallStore;
  log: Logger;
  speech: SpeechPipelineFactory;
  bargeIn: BargeInConfig;
  worker: string;
  /** Prometheus counters (frames in, barge-ins); absent in unit tests. */
  metrics?: Metrics;
  /** Opens the realtime bridge of a call whose `engine` is `realtime` (else caller audio goes to `speech`). */
  realtime?: RealtimeBridges;
  /** Registry hooks: the stream became live / the session is over. */
  onLive(s: StreamSession): void;
  onEnded(s: StreamSession): void;
  /** Run `fn` after the reconnect grace unless cancelled (keyed by streamSid). */
  grace(streamSid: string, fn: () => Promise<void>): void;
  /** The upgrade carried a valid X-Twilio-Signature (required for phone calls; the browser phone has none). */
  signed: boolean;
  /** The socket under `ws` (the upgrade's): a tick's outbound messages are corked into one write. */
  socket?: Duplex;
}

/** Where a live stream's audio goes: caller frames in, agent audio out (the speech loop, or the realtime bridge). */
interface CallAudio {
  push(frame: Uint8Array): void;
  audio(h: AudioChunkHeaders, payload: Uint8Array): void;
  close(): void;
}

/** One Twilio Media Stream: authenticate on `start`, own the call's stream, move audio both ways. */
export class StreamSession {
  state: "pending" | "starting" | "live" | "ended" = "pending";
  /** Set once admitted. */
  private id?: StreamIdentity;
  private log: Logger;
  private readonly abort = new AbortController();
  private subs: Subscription[] = [];
  private stopRenew?: () => void;
  private playout?: Playout;
  private callAudio?: CallAudio;
  private bridge?: RealtimeBridge;
  private stopSeen = false;
  /** Publishes `stream.started`, once: after the audio path opens, or first thing in `end` if that is sooner. */
  private announce?: () => void;
  /** Caller frames between going live and the audio path's opening (`openAudio`). */
  private earlyFrames?: Uint8Array[];
  private latency?: TurnLatency;
  private publish?: (e: StreamEvent) => void;
  falseInterruptions = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly d: SessionDeps,
  ) {
    this.log = d.log;
  }

  get callId(): string | undefined {
    return this.id?.callId;
  }

  get streamSid(): string | undefined {
    return this.id?.streamSid;
  }

  /** A valid frame from the socket. */
  onFrame(f: InboundFrame): void {
    switch (f.event) {
      case "connected":
        return;
      case "start":
        if (this.state === "pending") void this.start(f).catch((err) => this.fail(err));
        return;
      case "media":
        if (this.state === "live" && f.streamSid === this.streamSid) {
          this.d.metrics?.framesIn.inc();
          const mu = mediaAudio(f);
          // Before the stream's audio path opened (the turn its greeting was written in): kept for it.
          const to = this.callAudio ?? { push: (fr: Uint8Array) => void (this.earlyFrames ??= []).push(fr) };
          // Twilio's 160-byte frames go as they are; anything else is re-cut so the pipeline always gets 20 ms.
          if (mu.length === FRAME_BYTES) to.push(mu);
          else for (const fr of toFrames(mu)) to.push(fr);
        }
        return;
      case "dtmf":
        if (this.state === "live" && f.streamSid === this.streamSid) {
          this.emit({ type: "dtmf", digit: f.dtmf.digit });
          // The webhook event is written here, at the source: no agent needs to be up for it.
          void this.d.store
            .appendEvent(this.callId!, "dtmf", { digit: f.dtmf.digit })
            .catch((err: Error) => this.log.warn({ err: err.message }, "dtmf event not recorded"));
          this.bridge?.dtmf(f.dtmf.digit);
        }
        return;
      case "mark":
        if (this.state === "live" && f.streamSid === this.streamSid) this.playout!.onMark(f.mark.name);
        return;
      case "stop":
        if (f.streamSid !== this.streamSid) return;
        this.stopSeen = true;
        if (this.state === "live") void this.end("stop");
        return;
    }
  }

  /** The socket closed (any side). */
  onClose(): void {
    if (this.state === "ended") return;
    if (this.state !== "live") return this.finish();
    void this.end(this.stopSeen ? "stop" : "closed");
  }

  private async start(f: StartFrame): Promise<void> {
    this.state = "starting";
    this.latency = new TurnLatency(performance.now());
    const { store, cfg, worker } = this.d;
    // Read beside the admission, not after it: it is on the path to the first greeting frame.
    const preRead = readPrerendered(store, f.start.customParameters.callId).catch(
      (err: Error) => void this.log.warn({ err: err.message }, "prerendered greeting not read"),
    );
    const a = await admitStream(
      { store, secret: cfg.STREAM_TOKEN_SECRET, worker, leaseTtlMs: cfg.STREAM_LEASE_TTL_MS },
      f,
      this.d.signed,
    );
    if (!a.ok) return this.reject(a.code, a.reason);
    const { callId, callSid, streamSid } = a;
    this.id = { callId, callSid, streamSid, owner: a.owner };
    this.log = callLogger(this.d.log, callId, callSid).child({ streamSid });
    this.publish = streamEvents({
      bus: this.d.bus,
      store,
      log: this.log,
      metrics: this.d.metrics,
      callId,
      streamSid,
      onFinal: (f) => (this.lastFinal = f),
    });
    // Read beside the admission, so it is in almost always by now; awaited before the stream goes live,
    // so the greeting is written in the turn it goes live.
    const pre = greetingToPlay(a.call, await preRead);
    if (this.ws.readyState !== this.ws.OPEN) {
      // Closed while it was admitted: the record names this stream now, so it ends as a lost stream does.
      this.d.grace(streamSid, () => this.report("closed"));
      return this.finish();
    }
    this.state = "live";
    this.d.onLive(this);
    this.startPlayout(pre);
    this.announce = () => {
      this.announce = undefined;
      this.emit({ type: "stream.started", callSid, worker, ...(pre ? { greeting: pre.header.utteranceId } : {}) });
      this.log.info({ streams: a.streamCount, previousOwner: a.previousOwner }, "stream started");
    };
    // The rest of the stream opens after this turn of the event loop: streams started together (calls
    // answered in a burst) each write their greeting first, not after the others' pipelines and STT sockets.
    setImmediate(() => {
      if (this.state !== "live") return;
      try {
        this.openAudio(a.call, pre);
        this.announce?.();
      } catch (err) {
        this.fail(err);
      }
    });
  }

  /** The playout, and the pre-rendered greeting's first pieces written at once. */
  private startPlayout(pre: PrerenderedGreetingAudio | undefined): void {
    const { cfg } = this.d;
    const { streamSid } = this.id!;
    this.playout = new Playout({
      streamSid,
      send: (t) => this.send(t),
      chunkMs: cfg.PLAYOUT_CHUNK_MS,
      leadMs: cfg.PLAYOUT_LEAD_MS,
      markMs: cfg.PLAYOUT_MARK_MS,
      onDone: (u) => {
        this.emit({ type: "playback.mark", utteranceId: u.id, done: true, playedMs: msOf(u.totalBytes) });
        this.bridge?.onPlayed(u);
      },
      onFirstSent: (u) => this.firstAudio(u),
      onLost: (u, missing) =>
        this.log.warn({ utteranceId: u.id, missing }, "audio chunks lost on the bus, played on without them"),
      onEstimateError: (errMs) => this.d.metrics?.playheadError.observe(Math.abs(errMs)),
    });
    if (pre) {
      this.playout.pushSpoken(pre.header, pre.audio);
      this.uncork(); // written now, not at the end of this tick: the rest of the start comes after it
    }
  }

  /**
   * The rest of a live stream, after its greeting's first write: the speech pipeline (and its STT
   * socket) or the realtime bridge, the echo guard's level of the greeting, the bus subscriptions and
   * the lease renewal. Caller frames that came before it are handed over in order.
   */
  private openAudio(call: CallRecord, pre: PrerenderedGreetingAudio | undefined): void {
    const { bus, cfg } = this.d;
    const { callId } = this.id!;
    const playout = this.playout!;
    if (call.engine === "realtime" && this.d.realtime) {
      this.callAudio = this.bridge = this.d.realtime({
        call,
        playout,
        emit: this.emit,
        onCallerFinal: () => this.latency!.callerFinal(),
        log: this.log,
        signal: this.abort.signal,
      });
    } else {
      const loop = new SpeechLoop({
        pipeline: this.d.speech.open({ callId, signal: this.abort.signal }),
        playout,
        policy: new BargeInPolicy(this.d.bargeIn),
        thinkingWindowMs: cfg.BARGE_IN_THINKING_WINDOW_MS,
        levels: { echoGuardDb: cfg.BARGE_IN_ECHO_GUARD_DB, callerFloorDb: cfg.BARGE_IN_CALLER_FLOOR_DB },
        countsAsWords: (t) => realWords(t, this.d.bargeIn.backchannels) > 0,
        emit: this.emit,
        onCallerFinal: () => this.latency!.callerFinal(),
        onFalseInterruption: () => {
          this.falseInterruptions++;
          void this.d.store.incrFalseInterruptions(callId).catch(() => undefined);
          return this.falseInterruptions;
        },
        log: this.log,
      });
      // Already queued on the playout above: the loop learns its level and text (echo guard, barge-in policy).
      if (pre) loop.queued(pre.header, pre.audio);
      this.callAudio = loop;
    }
    const early = this.earlyFrames;
    this.earlyFrames = undefined;
    for (const fr of early ?? []) this.callAudio.push(fr);
    this.subs.push(
      bus.subscribeBinary(subjects.audio(callId), (payload, hdrs) => {
        const h = parseAudioHeaders(hdrs);
        if (h.callId === callId && this.state === "live") this.callAudio!.audio(h, payload);
      }),
      bus.subscribe(subjects.ctl(callId), ControlMessage, (m) => this.control(m)),
    );
    this.stopRenew = every(
      Math.max(200, Math.floor(cfg.STREAM_LEASE_TTL_MS / 3)),
      async () => {
        if (this.state !== "live") return;
        const ok = await this.d.store.acquireLease("stream", callId, this.id!.owner, cfg.STREAM_LEASE_TTL_MS);
        if (!ok) {
          this.log.warn("stream lease lost to a newer stream");
          await this.end("replaced");
        }
      },
      this.log,
    );
  }

  /** The first frame of an utterance went out: record the turn's latency if it ends one (`turn-latency.ts`). */
  private firstAudio(u: UtteranceAudio): void {
    const t = this.latency!.firstAudio(u);
    if (!t) return;
    this.d.metrics?.turnLatency.observe({ kind: t.kind }, t.latencyMs);
    const turn = { callId: this.id!.callId, kind: t.kind, latencyMs: t.latencyMs, ts: Date.now() };
    // After this tick's socket write, not before it: it runs inside the first piece's send, and its
    // zod check and MULTI cost 1.3 ms a turn under the profiler (20 calls), on the way to that piece.
    setImmediate(() => void this.d.store.recordTurn(turn).catch(() => undefined));
  }

  private control(m: ControlMessage): void {
    if (this.state !== "live") return;
    const p = this.playout!;
    switch (m.type) {
      case "clear":
        p.clear();
        return;
      case "cancel":
        p.cancel(m.beforeGeneration);
        return;
      case "send-digits":
        p.pushWhole(`digits-${m.ts}-${m.digits.replace(/[^0-9A-D]/g, "x")}`, dtmfTones(m.digits));
        return;
      case "close":
        this.log.info({ reason: m.reason }, "stream closed on request");
        void this.end("stop", 1000, m.reason);
        return;
    }
  }

  /** Another stream of this call started on this worker: leave quietly. */
  supersede(): void {
    void this.end("replaced", 1000, "replaced by a newer stream");
  }

  /** Drain: close with 1001 so Twilio runs the `<Redirect>` and reconnects to another worker. */
  drain(): Promise<void> {
    return this.end("drain", 1001, "worker draining");
  }

  /** Crash-like stop (tests, process exit): no events, no lease release, socket dropped. */
  kill(): void {
    this.teardown();
    this.state = "ended";
    this.ws.terminate();
    this.d.onEnded(this);
  }

  async end(reason: EndReason, code?: number, text?: string): Promise<void> {
    if (this.state !== "live") return;
    // A stop in the turn the stream went live ends it before its audio path opened: it was live (its
    // greeting written), so `stream.started` still comes before `stream.stopped`.
    this.announce?.();
    this.state = "ended";
    this.teardown();
    if (code !== undefined && this.ws.readyState === this.ws.OPEN) this.ws.close(code, text);
    this.d.onEnded(this);
    this.log.info({ reason, falseInterruptions: this.falseInterruptions }, "stream ended");
    if (reason === "replaced") return;
    if (reason === "closed") return this.d.grace(this.id!.streamSid, () => this.report("closed"));
    await this.report(reason).catch((err) =>
      this.log.warn({ err: (err as Error).message }, "stream end report failed"),
    );
  }

  private report(why: EndReason): Promise<void> {
    const { store, bus, worker } = this.d;
    return reportStreamEnd({ store, bus, log: this.log, worker, emit: (e) => this.emit(e, true) }, this.id!, why);
  }

  private teardown(): void {
    this.abort.abort();
    this.playout?.close();
    this.stopRenew?.();
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.callAudio?.close();
  }

  private reject(code: number, reason: string): void {
    this.log.warn({ code, reason }, "stream rejected");
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, reason);
    this.finish();
  }

  private fail(err: unknown): void {
    this.log.error({ err }, "stream start failed");
    if (this.state === "live") void this.end("error", 1011, "internal error");
    else this.reject(1011, "internal error");
  }

  private finish(): void {
    this.state = "ended";
    this.teardown();
    this.d.onEnded(this);
  }

  private corked = false;
  private readonly uncork = () => {
    if (!this.corked) return;
    this.corked = false;
    this.d.socket!.uncork();
  };

  private send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // The messages of one tick (a burst of pieces and their marks) go in one socket write, not one each:
    // 17 → 9 µs of CPU per message at 5 pieces + marks a tick (bench/socket-writes.ts).
    if (this.d.socket && !this.corked) {
      this.corked = true;
      this.d.socket.cork();
      process.nextTick(this.uncork);
    }
    this.ws.send(text);
  }

  /** The newest caller final published, for `resendLastFinal`. */
  private lastFinal?: PublishedEvent;

  /**
   * NATS reconnected: publishes made between the node's death and the client noticing it were lost
   * (at-most-once), a caller final among them. Send the newest final again if it is recent (same `ts`
   * and text: an agent that heard it already drops the repeat). Returns whether it was sent.
   */
  resendLastFinal(maxAgeMs: number): boolean {
    const f = this.lastFinal;
    if (this.state !== "live" || !f || !this.callId || Date.now() - f.ts > maxAgeMs) return false;
    try {
      this.d.bus.publish(subjects.evt(this.callId), CallEvent, f);
      return true;
    } catch {
      return false;
    }
  }

  private readonly emit: Emit = (e, force = false) => {
    if (this.state === "live" || force) this.publish?.(e);
  };
}
