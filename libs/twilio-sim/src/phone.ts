import { mulawEncode } from "@voicecall/audio";
import type { SimCall } from "./call";
import type { Heard } from "./heard-recorder";
import { synthesize, wavToMulaw, type SpeechEngine } from "./speech";
import type { StreamRecord } from "./stream-runner";
import type { NetworkConditions } from "./network";
import { terminalStatuses, type CallEventRecord, type CallStatus } from "./types";
import type { WebhookRecord } from "./webhooks";

async function until<T>(fn: () => T | undefined | false, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The caller's side of one simulated call, for tests and `voicecall simulate`. */
export class Phone {
  constructor(readonly call: SimCall) {}

  get sid(): string {
    return this.call.sid;
  }
  get status(): CallStatus {
    return this.call.status;
  }
  get direction(): "inbound" | "outbound-api" {
    return this.call.p.direction;
  }
  get from(): string {
    return this.call.p.from;
  }
  get to(): string {
    return this.call.p.to;
  }
  get answeredBy(): string | undefined {
    return this.call.answeredBy;
  }
  /** Status changes, verbs run, stream events, DTMF, warnings: ms since the call was created. */
  get events(): CallEventRecord[] {
    return this.call.events;
  }
  get streams(): StreamRecord[] {
    return this.call.streams.list;
  }
  /** `<Dial>` targets (a transfer): the app handed the caller to someone else. */
  get transfers(): SimCall["transfers"] {
    return this.call.transfers;
  }
  /** Twilio errors/warnings on this call (11200, 12100, 12200, 31920, 31950, 31951 …). */
  get warnings(): SimCall["warnings"] {
    return this.call.warnings;
  }
  /** Resolves with the terminal status. */
  get ended(): Promise<CallStatus> {
    return this.call.ended;
  }
  /** Every webhook the simulator sent for this call, with the app's answer. */
  requests(kind?: WebhookRecord["kind"]): WebhookRecord[] {
    return this.call.ctx.requests.filter((r) => r.callSid === this.sid && (!kind || r.kind === kind));
  }
  /** Set this call's network (delay and jitter each way, e.g. `roundTrip(300, 30)`); applies at once. */
  setNetwork(n: NetworkConditions | undefined): void {
    this.call.p.outcome.network = n;
  }
  /** Outbound audio queued on the open stream (ms), 0 when none. */
  queuedMs(): number {
    return this.call.streams.current?.queuedMs() ?? 0;
  }

  /**
   * Speak into the call: text (spoken with flite `rms`, or `engine`), 8 kHz 16-bit PCM, or WAV bytes
   * (any rate; raw mu-law if not RIFF). Resolves when the last frame has gone out on the stream.
   */
  async say(input: string | Int16Array | Uint8Array, o: { engine?: SpeechEngine } = {}): Promise<void> {
    let mu: Uint8Array;
    if (typeof input === "string") mu = await synthesize(input, o.engine);
    else if (input instanceof Int16Array) mu = mulawEncode(input);
    else
      mu =
        input.length > 12 && Buffer.from(input.subarray(0, 4)).toString("latin1") === "RIFF"
          ? wavToMulaw(input)
          : input;
    this.call.event("caller.say", { ms: mu.length / 8, ...(typeof input === "string" ? { text: input } : {}) });
    await this.call.mouth.push(mu);
  }

  /** Press keys: each digit goes to the stream as `dtmf` and to a running `<Gather>`. */
  press(digits: string): void {
    for (const d of digits) this.call.press(d);
  }

  /** The caller hangs up: streams get `stop`, then the `completed` status callback. */
  async hangup(): Promise<void> {
    await this.call.end(this.call.status === "in-progress" ? "completed" : "canceled", "caller-hangup");
  }

  /**
   * Move the call on as the far end or the network would, outside the TwiML: `in-progress` answers it,
   * a terminal status ends it with that status. Status callbacks go out as for any such change.
   */
  async setStatus(status: Exclude<CallStatus, "queued" | "initiated" | "ringing">): Promise<void> {
    if (status === "in-progress") {
      // Only a ringing call is answered: an outbound one starts ringing a moment after it is created.
      await this.waitForStatus(["ringing", ...terminalStatuses]);
      return this.call.answer();
    }
    await this.call.end(status, "set-status");
  }

  heard(): Heard {
    return this.call.recorder.snapshot();
  }

  /** What the caller heard as a 16-bit 8 kHz WAV (`timeline`: placed at real times with silence gaps). */
  heardWav(timeline = false): Uint8Array {
    return this.call.recorder.wav(timeline);
  }

  /** Wait until the caller has heard at least `minMs` of stream audio. */
  async waitForAudio(minMs: number, timeoutMs = 15_000): Promise<Heard> {
    await until(() => this.call.recorder.heardMs() >= minMs, `${minMs} ms of audio heard`, timeoutMs);
    return this.heard();
  }

  async waitForStatus(status: CallStatus | CallStatus[], timeoutMs = 15_000): Promise<CallStatus> {
    const want = Array.isArray(status) ? status : [status];
    const seen = () => this.call.events.find((e) => e.type === "status" && want.includes(e.status as CallStatus));
    return (await until(seen, `status ${want.join("|")}`, timeoutMs)).status as CallStatus;
  }

  /** Wait for the `n`-th stream (1-based) to be open (or to have failed). */
  async waitForStream(n = 1, timeoutMs = 15_000): Promise<StreamRecord> {
    return until(
      () => {
        const s = this.call.streams.list[n - 1];
        return s?.result ? s : undefined;
      },
      `stream #${n}`,
      timeoutMs,
    );
  }

  async waitForEvent(
    type: string,
    pred: (e: CallEventRecord) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<CallEventRecord> {
    return until(() => this.call.events.find((e) => e.type === type && pred(e)), `event ${type}`, timeoutMs);
  }

  /** Wait until `n` marks have been echoed. */
  async waitForMarks(n: number, timeoutMs = 15_000): Promise<Heard["marks"]> {
    await until(
      () => this.call.recorder.marks.filter((m) => m.echoedAtMs !== undefined).length >= n,
      `${n} mark echoes`,
      timeoutMs,
    );
    return this.heard().marks;
  }

  /** Wait for the call to end (and its completed callback to be answered). */
  async waitForEnd(timeoutMs = 15_000): Promise<CallStatus> {
    const s = await Promise.race([
      this.call.ended,
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error(`call did not end within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
    await this.call.callbacksSettled();
    return s;
  }
}
