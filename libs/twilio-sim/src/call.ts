import { HeardRecorder } from "./heard-recorder";
import { Mouth } from "./mouth";
import { interpret, type Outcome, type TwimlHost } from "./interpreter";
import { parseTwiml, TwimlError, type ParsedTwiml } from "./twiml";
import { sendWebhook, type WebhookKind, type WebhookRecord } from "./webhooks";
import { deliver, StatusCallbacks } from "./delivery";
import { rfc2822 } from "./sids";
import { Keypad } from "./keypad";
import { sleep } from "./sleep";
import { verbHost } from "./verb-host";
import { StreamRunner } from "./stream-runner";
import {
  defaultAmdMs,
  terminalStatuses,
  type AnsweredBy,
  type CallEventRecord,
  type CallStatus,
  type DialOutcome,
  type SimContext,
} from "./types";

export interface CallParams {
  sid: string;
  direction: "inbound" | "outbound-api";
  from: string;
  to: string;
  url?: string;
  method: "GET" | "POST";
  twiml?: string;
  fallbackUrl?: string;
  fallbackMethod: "GET" | "POST";
  statusCallback?: string;
  statusCallbackMethod: "GET" | "POST";
  /** Events asked for; `completed` is always sent when a callback URL is set. */
  statusCallbackEvents: string[];
  machineDetection?: "Enable" | "DetectMessageEnd";
  asyncAmd: boolean;
  asyncAmdStatusCallback?: string;
  asyncAmdStatusCallbackMethod: "GET" | "POST";
  /** MachineDetectionTimeout (s): AMD that takes longer answers `unknown` then. Default 30. */
  machineDetectionTimeoutSec?: number;
  timeoutSec: number;
  timeLimitSec: number;
  outcome: DialOutcome;
}

type Next = {
  url?: string;
  method: "GET" | "POST";
  twiml?: string;
  kind: WebhookKind;
  params?: Record<string, string>;
};

const APP_ERROR = "We are sorry, an application error has occurred. Goodbye.";

/** One simulated call, Twilio side: lifecycle, status callbacks, AMD and the TwiML loop. */
export class SimCall {
  status: CallStatus;
  readonly dateCreated = Date.now();
  dateUpdated = Date.now();
  startTime?: number;
  endTime?: number;
  answeredBy?: AnsweredBy;
  readonly events: CallEventRecord[] = [];
  readonly recorder: HeardRecorder;
  readonly mouth = new Mouth();
  readonly streams: StreamRunner;
  readonly transfers: { atMs: number; kind: string; value: string }[] = [];
  readonly warnings: { atMs: number; code: number; message: string }[] = [];
  private seq = 0;
  private ending = false;
  /** TwiML is being fetched/run (a REST redirect interrupts it); false while an outbound call rings. */
  private looping = false;
  private run?: AbortController;
  private pending?: Next;
  private timers: NodeJS.Timeout[] = [];
  private readonly callbacks: StatusCallbacks;
  readonly keypad = new Keypad();
  private resolveEnded!: (s: CallStatus) => void;
  readonly ended = new Promise<CallStatus>((r) => (this.resolveEnded = r));

  constructor(
    readonly p: CallParams,
    readonly ctx: SimContext,
  ) {
    this.status = p.direction === "inbound" ? "ringing" : "queued";
    this.recorder = new HeardRecorder(this.dateCreated);
    this.streams = new StreamRunner(this);
    this.callbacks = new StatusCallbacks(ctx, (params, again) =>
      this.send("status", this.p.statusCallbackMethod, this.p.statusCallback!, params, again),
    );
  }

  get sid(): string {
    return this.p.sid;
  }
  /** False once the call is ending or ended (REST updates then fail with 21220). */
  get live(): boolean {
    return !this.ending && !terminalStatuses.includes(this.status);
  }

  event(type: string, fields: Record<string, unknown> = {}): void {
    this.events.push({ atMs: this.recorder.now(), type, ...fields });
  }

  warn(code: number, message: string): void {
    this.warnings.push({ atMs: this.recorder.now(), code, message });
    this.event("warning", { code, message });
  }

  private setStatus(s: CallStatus): void {
    this.status = s;
    this.dateUpdated = Date.now();
    this.event("status", { status: s });
  }

  /** The standard voice request parameters (call-resource §StatusCallback / TwiML request). */
  baseParams(status: CallStatus = this.status): Record<string, string> {
    return {
      AccountSid: this.ctx.accountSid,
      ApiVersion: "2010-04-01",
      CallSid: this.sid,
      CallStatus: status,
      Called: this.p.to,
      Caller: this.p.from,
      Direction: this.p.direction,
      From: this.p.from,
      To: this.p.to,
    };
  }

  /** Send a webhook as Twilio does (a retry when no answer came); `again` redelivers an earlier attempt once. */
  async send(
    kind: WebhookKind,
    method: "GET" | "POST",
    url: string,
    params: Record<string, string>,
    again?: WebhookRecord,
  ): Promise<WebhookRecord> {
    const record = (rec: WebhookRecord) => {
      this.ctx.requests.push(rec);
      this.ctx.onRequest?.(rec);
      this.event("webhook", { kind, url, status: rec.status, errorCode: rec.errorCode, attempt: rec.attempt });
    };
    if (!again) return deliver(this.ctx, kind, method, url, params, this.sid, record);
    const rec = await sendWebhook(this.ctx.webhook, kind, method, url, params, this.sid, {
      idempotencyToken: again.idempotencyToken,
      attempt: again.attempt + 1,
    });
    record(rec);
    return rec;
  }

  /** Status callbacks do not block the call; how they arrive is `knobs.statusCallbacks`. */
  private statusCallback(event: "initiated" | "ringing" | "answered" | "completed"): void {
    const url = this.p.statusCallback;
    if (!url || (event !== "completed" && !this.p.statusCallbackEvents.includes(event))) return;
    const params: Record<string, string> = {
      ...this.baseParams(),
      Timestamp: rfc2822(),
      CallbackSource: "call-progress-events",
      SequenceNumber: String(this.seq++),
    };
    if (event === "completed") {
      const secs = this.durationSec();
      params.CallDuration = String(secs);
      if (this.status === "completed") params.Duration = String(Math.ceil(secs / 60));
      params.SipResponseCode =
        { completed: "200", busy: "486", "no-answer": "487", failed: "404", canceled: "487" }[
          this.status as "completed"
        ] ?? "200";
    }
    if (this.answeredBy) params.AnsweredBy = this.answeredBy;
    this.callbacks.queue(params);
  }

  /** Resolves once every status callback queued so far has been answered. */
  callbacksSettled(): Promise<void> {
    return this.callbacks.settled();
  }

  durationSec(): number {
    return this.startTime ? Math.ceil(((this.endTime ?? Date.now()) - this.startTime) / 1000) : 0;
  }

  /** Inbound: the number's voice URL is requested while ringing. Outbound: dial, ring, answer. */
  async start(): Promise<void> {
    if (this.p.direction === "inbound") {
      this.setStatus("ringing");
      return this.loop({ url: this.p.url, method: this.p.method, twiml: this.p.twiml, kind: "voice" });
    }
    const cancel = (this.run = new AbortController());
    await sleep(10, cancel.signal);
    if (!this.live) return; // canceled while queued: no callbacks at all
    this.setStatus("initiated");
    this.statusCallback("initiated");
    this.setStatus("ringing");
    this.statusCallback("ringing");
    const o = this.p.outcome;
    const result = o.result ?? "answer";
    const ringMs = o.ringMs ?? (result === "no-answer" ? Math.min(this.p.timeoutSec * 1000, 1000) : 100);
    await sleep(ringMs, cancel.signal);
    if (!this.live) return;
    if (result !== "answer") return this.end(result);
    this.answer();
    const params: Record<string, string> = {};
    if (this.p.machineDetection) {
      // AMD that runs past MachineDetectionTimeout gives up with `unknown` at the timeout.
      const limitMs = (this.p.machineDetectionTimeoutSec ?? 30) * 1000;
      const wantMs = o.amdMs ?? defaultAmdMs(o.answeredBy ?? "human", this.p.machineDetectionTimeoutSec);
      const amdMs = Math.min(wantMs, limitMs);
      const answeredBy = wantMs > limitMs ? "unknown" : (o.answeredBy ?? "human");
      if (this.p.asyncAmd) {
        this.timers.push(setTimeout(() => void this.asyncAmd(answeredBy, amdMs), amdMs));
      } else {
        await sleep(amdMs, cancel.signal); // sync AMD: TwiML waits for detection
        if (!this.live) return;
        this.answeredBy = answeredBy;
        params.AnsweredBy = answeredBy;
        params.MachineDetectionDuration = String(amdMs);
      }
    }
    if (this.pending) return this.loop(this.takePending());
    return this.loop({
      url: this.p.url,
      method: this.p.method,
      twiml: this.p.twiml,
      kind: "voice",
      params: { ...params, CallStatus: this.ctx.knobs.outboundUrlCallStatus },
    });
  }

  private async asyncAmd(answeredBy: AnsweredBy, amdMs: number): Promise<void> {
    if (!this.live) return;
    this.answeredBy = answeredBy;
    this.event("amd", { answeredBy });
    const url = this.p.asyncAmdStatusCallback;
    if (url)
      await this.send("amd", this.p.asyncAmdStatusCallbackMethod, url, {
        AccountSid: this.ctx.accountSid,
        CallSid: this.sid,
        AnsweredBy: answeredBy,
        MachineDetectionDuration: String(amdMs),
      });
  }

  /** The call is answered (outbound: far end picked up; inbound: the first verb that answers). */
  answer(): void {
    if (this.status === "in-progress" || !this.live) return;
    this.startTime = Date.now();
    this.setStatus("in-progress");
    this.statusCallback("answered");
    if (this.p.timeLimitSec > 0)
      this.timers.push(setTimeout(() => void this.end("completed", "time-limit"), this.p.timeLimitSec * 1000));
  }

  private takePending(): Next {
    const n = this.pending!;
    this.pending = undefined;
    return n;
  }

  /** Fetch and run TwiML documents until the call ends. */
  private async loop(first: Next): Promise<void> {
    this.looping = true;
    let next: Next | undefined = first;
    while (next && this.live) {
      const run = (this.run = new AbortController());
      const doc = await this.fetchDoc(next);
      if (!this.live) return;
      if (run.signal.aborted) {
        next = this.pending ? this.takePending() : undefined;
        continue;
      }
      if (!doc) return this.appError();
      this.event("twiml", { url: doc.url, verbs: doc.parsed.verbs.map((v) => v.verb) });
      const out: Outcome = await interpret(doc.parsed, doc.url, this.host(run.signal));
      this.event("twiml.outcome", { outcome: out.kind, ...("reason" in out ? { reason: out.reason } : {}) });
      if (out.kind === "fetch") next = { url: out.url, method: out.method, kind: out.why, params: out.params };
      else if (out.kind === "aborted") next = this.pending ? this.takePending() : undefined;
      else if (out.kind === "reject")
        return this.end(
          this.status === "in-progress" ? "completed" : out.reason === "busy" ? "busy" : "no-answer",
          "reject",
        );
      else return this.end("completed", out.reason);
    }
  }

  private async fetchDoc(n: Next): Promise<{ parsed: ParsedTwiml; url?: string } | undefined> {
    let xml = n.twiml;
    let url = n.url;
    if (xml === undefined) {
      if (!url) return undefined;
      const params = { ...this.baseParams(), ...n.params };
      let rec = await this.send(n.kind, n.method, url, params);
      if (rec.errorCode && n.kind === "voice" && this.p.fallbackUrl) {
        this.warn(rec.errorCode, rec.error ?? "webhook failed");
        url = this.p.fallbackUrl;
        rec = await this.send("fallback", this.p.fallbackMethod, url, {
          ...params,
          ErrorCode: String(rec.errorCode),
          ErrorUrl: n.url!,
        });
      }
      if (rec.errorCode) {
        this.warn(rec.errorCode, rec.error ?? "webhook failed");
        return undefined;
      }
      if (rec.contentType && !/xml|html/i.test(rec.contentType))
        this.warn(12300, `Invalid Content-Type: ${rec.contentType}`);
      xml = rec.body;
    }
    try {
      return { parsed: parseTwiml(xml), url };
    } catch (err) {
      if (!(err instanceof TwimlError)) throw err;
      this.warn(err.code, err.message);
      return undefined;
    }
  }

  /** Twilio's reaction to a bad document or failed fetch: the error message, then hang up. */
  appError(): void {
    this.answer();
    this.recorder.sayTexts.push({ atMs: this.recorder.now(), text: APP_ERROR, source: "twilio-error" });
    void this.end("completed", "application-error");
  }

  private host(signal: AbortSignal): TwimlHost {
    return verbHost(this, signal);
  }

  /** DTMF from the caller: to the open stream (as a `dtmf` message) and to a running `<Gather>`. */
  press(digit: string): void {
    this.event("dtmf", { digit });
    this.streams.dtmf(digit);
    this.keypad.press(digit);
  }

  /** REST update with Url/Twiml: replace the running TwiML (the stream gets `stop`). */
  redirect(n: { url?: string; method: "GET" | "POST"; twiml?: string }): void {
    this.pending = { ...n, kind: "redirect" };
    this.event("rest.redirect", { url: n.url, twiml: n.twiml !== undefined });
    if (this.looping) this.run?.abort();
  }

  /** End the call with a terminal status; streams get `stop`, then the `completed` callback. */
  async end(status: CallStatus, reason: string = status): Promise<void> {
    if (!this.live) return;
    this.ending = true;
    const wasQueued = this.status === "queued";
    this.endTime = Date.now();
    this.run?.abort();
    for (const t of this.timers) clearTimeout(t);
    this.mouth.flush();
    this.event("end", { reason });
    await this.streams.stopAll(true);
    this.setStatus(status);
    if (!(status === "canceled" && wasQueued)) this.statusCallback("completed");
    this.resolveEnded(status);
  }
}
