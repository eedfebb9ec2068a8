import type { WebSocket } from "ws";
import type { Subscription } from "nats";
import type { Bus } from "@voicecall/bus";
import type { CallStore } from "@voicecall/store";
import type { Logger } from "@voicecall/log";
import { callLogger } from "@voicecall/log";
import { verifyStreamToken } from "@voicecall/auth";
import { every } from "@voicecall/runtime";
import { toFrames, FRAME_BYTES } from "@voicecall/audio";
import { CallEvent, CommandMessage, ControlMessage, isTerminal, parseAudioHeaders, subjects } from "@voicecall/contracts";
import type { MediaConfig } from "./config";
import type { SpeechPipelineFactory } from "./speech/types";
import { mediaAudio, type InboundFrame, type StartFrame } from "./twilio-codec";
import { Playout, msOf, type Utterance } from "./playout";
import { BargeInPolicy, realWords, type BargeInConfig } from "./barge-in";
import { SpeechIn } from "./speech-in";
import { prerenderedGreeting } from "./prerendered-greeting";
import { dtmfTones } from "./dtmf-tones";
import type { Metrics } from "@voicecall/runtime";
import type { CallRecord } from "@voicecall/contracts";
import type { RealtimeBridge, RealtimeBridges } from "./realtime/index";

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
}

export type EndReason = "stop" | "closed" | "drain" | "error" | "replaced";
export type Emit = (e: Record<string, unknown> & { type: CallEvent["type"] }, force?: boolean) => void;

/** One Twilio Media Stream: authenticate on `start`, own the call's stream, move audio both ways. */
export class StreamSession {
  state: "pending" | "starting" | "live" | "ended" = "pending";
  callId?: string;
  streamSid?: string;
  private callSid?: string;
  private log: Logger;
  private readonly abort = new AbortController();
  private subs: Subscription[] = [];
  private stopRenew?: () => void;
  private playout?: Playout;
  /** Where caller audio goes: the speech pipeline, or the realtime model's bridge (`bridge`). */
  private speechIn?: SpeechIn | RealtimeBridge;
  private bridge?: RealtimeBridge;
  private stopSeen = false;
  /** performance.now() when the `start` frame arrived, for the greeting latency. */
  private startedAt = 0;
  private greetingReported = false;
  falseInterruptions = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly d: SessionDeps,
  ) {
    this.log = d.log;
  }

  get owner(): string {
    return `${this.d.worker}/${this.streamSid}`;
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
          for (const fr of frames(mediaAudio(f))) this.speechIn!.push(fr);
        }
        return;
      case "dtmf":
        if (this.state === "live" && f.streamSid === this.streamSid) {
          this.emit({ type: "dtmf", digit: f.dtmf.digit });
          // The webhook event is written here, at the source: no agent needs to be up for it.
          void this.d.store.appendEvent(this.callId!, "dtmf", { digit: f.dtmf.digit }).catch((err: Error) => this.log.warn({ err: err.message }, "dtmf event not recorded"));
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
    this.startedAt = performance.now();
    const { callSid, streamSid, customParameters: p } = f.start;
    const callId = p.callId ?? "";
    const token = p.token ?? "";
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(callId) || !token) return this.reject(1008, "missing callId or token");
    const check = verifyStreamToken(this.d.cfg.STREAM_TOKEN_SECRET, token, callId, callSid);
    if (!check.ok) return this.reject(1008, `token ${check.reason}`);
    const { store } = this.d;
    // A phone call's token is in TwiML that anyone with the webhook's answer has seen; only Twilio can
    // sign the upgrade. Checked before the token is spent, so an unsigned copy cannot burn Twilio's.
    if (!this.d.signed && (await store.getCall(callId))?.channel !== "web") return this.reject(1008, "unsigned stream for a phone call");
    // Single use across every worker: the gateway mints a fresh token for each stream (reconnects too),
    // so a second start with the same token — whatever its streamSid — is a replay that would steal the lease.
    // Both in one round trip: this is on the path to the caller's first greeting frame.
    const [fresh, call] = await Promise.all([store.firstSeen(`stream-token:${check.id}`, Math.max(60_000, check.expiresAt - Date.now() + 60_000)), store.getCall(callId)]);
    if (!fresh) return this.reject(1008, "token already used");
    if (!call) return this.reject(1008, "unknown call");
    if (isTerminal(call.state)) return this.reject(1000, "call ended");
    // Read beside the lease round trips, not after them: it is on the path to the first greeting frame.
    const greeting = prerenderedGreeting(store, call).catch((err: Error) => void this.log.warn({ err: err.message }, "prerendered greeting not read"));
    this.callId = callId;
    this.callSid = callSid;
    this.streamSid = streamSid;
    this.log = callLogger(this.d.log, callId, callSid).child({ streamSid });
    // Twilio allows one bidirectional stream per call: a verified start with a new streamSid means the
    // previous stream is gone, so its lease (on a dead or stale worker) is taken over at once.
    const cur = await store.leaseOwner("stream", callId);
    const steal = cur && !cur.endsWith(`/${streamSid}`) ? cur : "";
    if (!(await store.acquireLease("stream", callId, this.owner, this.d.cfg.STREAM_LEASE_TTL_MS, steal))) return this.reject(1013, "stream owned elsewhere");
    if (this.ws.readyState !== this.ws.OPEN) {
      await store.releaseLease("stream", callId, this.owner);
      return this.finish();
    }
    this.state = "live";
    this.d.onLive(this);
    this.goLive(call);
    // The record names the new stream before anyone hears of it: an old stream's late stop then sees
    // it is stale (`report`) and stays quiet.
    const pre = await greeting;
    if (pre) this.speechIn!.audio(pre.header, pre.audio);
    const [, streams] = await Promise.all([store.update(callId, { mediaOwner: this.d.worker, streamSid }), store.incrStreamCount(callId)]);
    this.emit({ type: "stream.started", callSid, worker: this.d.worker, ...(pre ? { greeting: pre.header.utteranceId } : {}) });
    this.log.info({ streams, previousOwner: cur ?? undefined }, "stream started");
  }

  private goLive(call: CallRecord): void {
    const { bus, cfg } = this.d;
    const callId = this.callId!;
    const streamSid = this.streamSid!;
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
      onEstimateError: (errMs) => this.d.metrics?.playheadError.observe(Math.abs(errMs)),
    });
    if (call.engine === "realtime" && this.d.realtime) {
      this.speechIn = this.bridge = this.d.realtime({ call, playout: this.playout, emit: this.emit, log: this.log, signal: this.abort.signal });
    } else this.speechIn = new SpeechIn({
      pipeline: this.d.speech.open({ callId, signal: this.abort.signal }),
      playout: this.playout,
      policy: new BargeInPolicy(this.d.bargeIn),
      thinkingWindowMs: cfg.BARGE_IN_THINKING_WINDOW_MS,
      levels: { echoGuardDb: cfg.BARGE_IN_ECHO_GUARD_DB, callerFloorDb: cfg.BARGE_IN_CALLER_FLOOR_DB },
      countsAsWords: (t) => realWords(t, this.d.bargeIn.backchannels) > 0,
      emit: this.emit,
      onFalseInterruption: () => {
        this.falseInterruptions++;
        void this.d.store.incrFalseInterruptions(callId).catch(() => undefined);
        return this.falseInterruptions;
      },
      log: this.log,
    });
    this.subs.push(
      bus.subscribeBinary(subjects.audio(callId), (payload, hdrs) => {
        const h = parseAudioHeaders(hdrs);
        if (h.callId === callId && this.state === "live") this.speechIn!.audio(h, payload);
      }),
      bus.subscribe(subjects.ctl(callId), ControlMessage, (m) => this.control(m)),
    );
    this.stopRenew = every(Math.max(200, Math.floor(cfg.STREAM_LEASE_TTL_MS / 3)), async () => {
      if (this.state !== "live") return;
      const ok = await this.d.store.acquireLease("stream", callId, this.owner, cfg.STREAM_LEASE_TTL_MS);
      if (!ok) {
        this.log.warn("stream lease lost to a newer stream");
        await this.end("replaced");
      }
    }, this.log);
  }

  /**
   * Per-turn latency where it ends, at the first frame sent to Twilio: greeting = `start` received →
   * first greeting frame; reply = the caller's final transcript → first reply frame (`store.recordTurn`).
   */
  private firstAudio(u: Utterance): void {
    const now = performance.now();
    let kind: "greeting" | "reply" | undefined;
    let from = 0;
    if (u.purpose === "greeting" && !this.greetingReported) {
      this.greetingReported = true;
      kind = "greeting";
      from = this.startedAt;
    } else if (u.purpose === "reply" && this.speechIn?.finalAt !== undefined) {
      kind = "reply";
      from = this.speechIn.finalAt;
      this.speechIn.finalAt = undefined;
    }
    if (!kind) return;
    const latencyMs = Math.round((now - from) * 10) / 10;
    this.d.metrics?.turnLatency.observe({ kind }, latencyMs);
    void this.d.store.recordTurn({ callId: this.callId!, kind, latencyMs, ts: Date.now() }).catch(() => undefined);
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
    this.state = "ended";
    this.teardown();
    if (code !== undefined && this.ws.readyState === this.ws.OPEN) this.ws.close(code, text);
    this.d.onEnded(this);
    this.log.info({ reason, falseInterruptions: this.falseInterruptions }, "stream ended");
    const callId = this.callId!;
    const streamSid = this.streamSid!;
    const report = async (why: EndReason) => {
      const call = await this.d.store.getCall(callId);
      // A stop or close of an old stream is ignored when the call already has a newer one.
      if (call && call.streamSid !== streamSid) return this.log.info("old stream ended, ignored");
      await this.d.store.releaseLease("stream", callId, this.owner);
      this.emit({ type: "stream.stopped", reason: why, worker: this.d.worker }, true);
      // A browser phone has no Twilio behind it to <Redirect> and reconnect: its stream is the call.
      if (call?.channel === "web" && !isTerminal(call.state)) {
        this.d.bus.publish(subjects.cmd(callId), CommandMessage, { type: "hangup", callId, ts: Date.now(), reason: `browser stream ${why}` });
      } else if (call && !isTerminal(call.state) && (why === "stop" || why === "closed")) {
        // Twilio's `stop` means the call ended (or its TwiML was replaced); an inbound call may have
        // no status callback to say so, so the gateway asks Twilio REST.
        this.d.bus.publish(subjects.cmd(callId), CommandMessage, { type: "reconcile", callId, ts: Date.now(), streamSid, reason: `stream ${why}` });
      }
    };
    if (reason === "replaced") return;
    if (reason === "closed") return this.d.grace(streamSid, () => report("closed"));
    await report(reason).catch((err) => this.log.warn({ err: (err as Error).message }, "stream end report failed"));
  }

  private teardown(): void {
    this.abort.abort();
    this.playout?.close();
    this.stopRenew?.();
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.speechIn?.close();
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

  private send(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  private readonly emit: Emit = (e, force = false) => {
    if (!this.callId || (this.state !== "live" && !force)) return;
    if (e.type === "interrupted") this.d.metrics?.bargeIns.inc({ kind: "real" });
    else if (e.type === "resumed") this.d.metrics?.bargeIns.inc({ kind: "false" });
    const ts = Date.now();
    // The newest final is kept on the call record too: an agent that missed the event (restart, NATS
    // down) finds it there. Not awaited: the agent compares timestamps, so the order does not matter.
    if (e.type === "transcript.final" && typeof e.text === "string" && !e.backchannel) void this.d.store.update(this.callId, { lastFinalTs: ts, lastFinalText: e.text }).catch((err: Error) => this.log.warn({ err: err.message }, "final not recorded"));
    try {
      this.d.bus.publish(subjects.evt(this.callId), CallEvent, { ts, callId: this.callId, streamSid: this.streamSid, ...e } as CallEvent);
    } catch (err) {
      this.log.error({ err: (err as Error).message, type: e.type }, "event not published");
    }
  };
}

/** Twilio sends 160-byte frames; anything else is re-cut so the pipeline always gets 20 ms. */
function frames(mu: Uint8Array): Uint8Array[] {
  return mu.length === FRAME_BYTES ? [mu] : mu.length === 0 ? [] : toFrames(mu);
}
