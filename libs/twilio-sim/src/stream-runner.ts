import { MediaStream, type CloseInfo, type OpenResult } from "./media-stream";
import { newSid } from "./sids";
import type { StreamEnd } from "./interpreter";
import type { StreamSpec } from "./twiml";
import type { SimCall } from "./call";

/** One Media Stream of a call, as the simulator saw it. */
export interface StreamRecord {
  streamSid: string;
  kind: "connect" | "start";
  name?: string;
  /** The URL connected to (query string stripped unless the knob says keep). */
  url: string;
  customParameters: Record<string, string>;
  tracks: string[];
  openedAtMs: number;
  result?: OpenResult;
  closedAtMs?: number;
  close?: CloseInfo;
  stream?: MediaStream;
}

const tracksOf = (t: string): string[] =>
  t === "both_tracks" ? ["inbound", "outbound"] : t === "outbound_track" ? ["outbound"] : ["inbound"];

/** Opens, tracks and stops the Media Streams of one call. */
export class StreamRunner {
  readonly list: StreamRecord[] = [];
  private active?: MediaStream;
  private background: { name?: string; stream: MediaStream; rec: StreamRecord }[] = [];

  constructor(private readonly call: SimCall) {}

  /** The open bidirectional stream, if any. */
  get current(): MediaStream | undefined {
    return this.active;
  }

  private async open(
    spec: StreamSpec,
    kind: StreamRecord["kind"],
  ): Promise<{ rec: StreamRecord; stream?: MediaStream }> {
    const { call } = this;
    const k = call.ctx.knobs;
    let url = spec.url;
    if (url.includes("?") && k.streamQueryString === "strip") {
      url = url.slice(0, url.indexOf("?"));
      call.warn(0, "Stream url query string stripped before connecting");
    }
    const tracks = kind === "connect" ? ["inbound"] : tracksOf(spec.track);
    const streamSid = newSid("MZ");
    const rec: StreamRecord = {
      streamSid,
      kind,
      name: spec.name,
      url,
      customParameters: { ...spec.parameters },
      tracks,
      openedAtMs: call.recorder.now(),
    };
    this.list.push(rec);
    const stream = new MediaStream({
      url,
      authToken: call.ctx.authToken,
      accountSid: call.ctx.accountSid,
      callSid: call.sid,
      streamSid,
      customParameters: rec.customParameters,
      tracks,
      ca: call.ctx.ca,
      route: call.ctx.route,
      signTrailingSlash: k.wsSignTrailingSlash,
      closeCode: k.wsCloseCode,
      firstTimestampMs: k.firstMediaTimestampMs,
      strict: k.strictStreamMessages,
      nextCallerFrame: () => call.mouth.next(),
      recorder: call.recorder,
      onWarning: (code, message) => call.warn(code, message),
      network: () => call.p.outcome.network,
    });
    rec.result = await stream.open();
    if (!rec.result.ok) {
      call.warn(rec.result.code, rec.result.message);
      call.event("stream.error", { streamSid, code: rec.result.code, status: rec.result.status });
      this.statusCallback(spec, rec, "stream-error", rec.result.message);
      return { rec };
    }
    rec.stream = stream;
    call.event("stream.started", { streamSid, kind });
    this.statusCallback(spec, rec, "stream-started");
    void stream.closed.then((c) => {
      rec.close = c;
      rec.closedAtMs = call.recorder.now();
      call.event("stream.stopped", { streamSid, by: c.by, code: c.code });
      this.statusCallback(spec, rec, "stream-stopped");
    });
    return { rec, stream };
  }

  /** `<Connect><Stream>`: blocks until the app closes the socket or the TwiML is interrupted. */
  async connect(spec: StreamSpec, signal: AbortSignal): Promise<StreamEnd> {
    if (this.active) {
      this.call.warn(31900, "Only one bidirectional stream per call");
      return "failed";
    }
    const { stream } = await this.open(spec, "connect");
    if (!stream) return "failed";
    if (signal.aborted) {
      await stream.stop(true);
      return "interrupted";
    }
    this.active = stream;
    const aborted = new Promise<null>((r) => signal.addEventListener("abort", () => r(null), { once: true }));
    const winner = await Promise.race([stream.closed, aborted]);
    if (winner === null) await stream.stop(this.call.ctx.knobs.stopOnRedirect);
    this.active = undefined;
    return winner === null ? "interrupted" : "app-closed";
  }

  /** `<Start><Stream>`: opens in the background; the TwiML goes on. */
  startUnidirectional(spec: StreamSpec): void {
    void this.open(spec, "start").then(({ rec, stream }) => {
      if (stream) this.background.push({ name: spec.name, stream, rec });
    });
  }

  /** `<Stop><Stream name>`: stops the named (or every) unidirectional stream. */
  stopNamed(name?: string): void {
    for (const b of this.background.filter((x) => !name || x.name === name || x.rec.streamSid === name))
      void b.stream.stop(true);
  }

  dtmf(digit: string): void {
    this.active?.dtmf(digit);
  }

  /** The call ended: `stop` and close every open stream. */
  async stopAll(sendStop: boolean): Promise<void> {
    const all = [this.active, ...this.background.map((b) => b.stream)].filter((s): s is MediaStream => !!s);
    await Promise.all(all.map((s) => s.stop(sendStop)));
  }

  private statusCallback(
    spec: StreamSpec,
    rec: StreamRecord,
    event: "stream-started" | "stream-stopped" | "stream-error",
    error?: string,
  ): void {
    if (!spec.statusCallback) return;
    const url = new URL(spec.statusCallback, this.call.p.url).toString();
    const params: Record<string, string> = {
      AccountSid: this.call.ctx.accountSid,
      CallSid: this.call.sid,
      StreamSid: rec.streamSid,
      StreamName: spec.name ?? rec.streamSid,
      StreamEvent: event,
      Timestamp: new Date().toISOString(),
    };
    if (error) params.StreamError = error;
    void this.call.send("stream-status", spec.statusCallbackMethod, url, params);
  }
}
