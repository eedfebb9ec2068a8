import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { mulawDecode } from "@voicecall/audio";

/**
 * A local server speaking the OpenAI Realtime protocol (GA names, or the older beta names with
 * `shape: "beta"`), for tests: session.update, input_audio_buffer.append with its own energy VAD
 * (speech_started / speech_stopped on the audio clock, cancelling the response in progress as
 * `interrupt_response` asks), caller transcription from a scripted queue, responses with audio deltas,
 * audio transcripts and function calls, function outputs, conversation.item.truncate (refused past the
 * audio, as OpenAI does), response.cancel, rate_limits.updated, error events, and faults: refused
 * handshakes, a failed response, a disconnect mid-response. Model audio is generated faster than real time.
 */

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Reply {
  say?: string;
  /** Length of the spoken audio (default 60 ms a character, at least 400 ms). */
  ms?: number;
  tool?: { name: string; args: Record<string, unknown> };
}

export interface FakeOptions {
  shape?: "ga" | "beta";
  /** Require this key (Bearer or api-key header); a wrong one gets HTTP 401. */
  apiKey?: string;
  /** Model audio is sent this many times faster than real time (default 4). */
  speedup?: number;
}

/** Audio whose bytes spell their position (as the media tests' ramp), so passthrough is checkable byte for byte. */
export function modelAudio(ms: number, seed = 0): Uint8Array {
  const a = new Uint8Array(ms * 8);
  for (let i = 0; i < a.length; i++) a[i] = 0x80 | ((i * 5 + seed + (i >> 9)) & 0x3f);
  return a;
}

export class FakeSession {
  readonly received: Msg[] = [];
  config: Msg = {};
  audioIn: number[] = [];
  readonly truncates: { item_id: string; audio_end_ms: number }[] = [];
  readonly items: Msg[] = [];
  /** Audio ms of every output item, by id. */
  readonly itemMs = new Map<string, number>();
  readonly responses: {
    id: string;
    instructions?: string;
    metadata?: Msg;
    status?: string;
    audioBytes: number;
    firstDeltaAt?: number;
  }[] = [];
  /** performance.now() when the last voiced caller frame arrived (for the bench's voice-to-voice split). */
  lastVoicedAt = 0;
  /** The audio bytes actually sent, per response (in order). */
  readonly sentAudio: Uint8Array[] = [];
  fault?: { disconnectAfterDeltas?: number; failNextResponse?: string };
  private seq = 0;
  private active?: { id: string; stop: () => void };
  private voicedRun = 0;
  private silentMs = 0;
  private speaking = false;
  private clockMs = 0;
  private startedAt = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly server: FakeRealtimeServer,
  ) {
    ws.on("message", (d) => this.onMessage(JSON.parse(d.toString())));
    this.send({ type: "session.created", session: { id: this.id("sess") } });
  }

  private get ga(): boolean {
    return this.server.shape === "ga";
  }

  private id(p: string): string {
    return `${p}_${++this.seq}`;
  }

  send(m: Msg): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify({ event_id: this.id("evt"), ...m }));
  }

  terminate(): void {
    this.ws.terminate();
  }

  private turnDetection(): Msg | null {
    const c = this.config;
    return (this.ga ? c.audio?.input?.turn_detection : c.turn_detection) ?? null;
  }

  private onMessage(m: Msg): void {
    this.received.push(m);
    switch (m.type) {
      case "session.update": {
        const s = m.session ?? {};
        const inFmt = this.ga ? s.audio?.input?.format?.type : s.input_audio_format;
        const outFmt = this.ga ? s.audio?.output?.format?.type : s.output_audio_format;
        const want = this.ga ? "audio/pcmu" : "g711_ulaw";
        if ((inFmt && inFmt !== want) || (outFmt && outFmt !== want))
          return this.error("invalid_request_error", "invalid_value", `audio format must be ${want} here`);
        this.config = s;
        return this.send({ type: "session.updated", session: s });
      }
      case "input_audio_buffer.append":
        return this.audio(new Uint8Array(Buffer.from(String(m.audio), "base64")));
      case "conversation.item.create": {
        const item = { id: m.item?.id ?? this.id("item"), ...m.item };
        this.items.push(item);
        return this.send({ type: "conversation.item.created", item });
      }
      case "conversation.item.truncate": {
        const ms = this.itemMs.get(m.item_id);
        if (ms === undefined) return this.error("invalid_request_error", "item_not_found", `no item ${m.item_id}`);
        if (m.audio_end_ms > ms)
          return this.error("invalid_request_error", "invalid_value", "audio_end_ms is longer than the audio");
        this.truncates.push({ item_id: m.item_id, audio_end_ms: m.audio_end_ms });
        return this.send({
          type: "conversation.item.truncated",
          item_id: m.item_id,
          content_index: 0,
          audio_end_ms: m.audio_end_ms,
        });
      }
      case "response.create":
        return this.respond(m.response ?? {});
      case "response.cancel":
        if (!this.active)
          return this.error(
            "invalid_request_error",
            "response_cancel_not_active",
            "Cancellation failed: no active response found",
          );
        return this.active.stop();
    }
  }

  private error(type: string, code: string, message: string): void {
    this.send({ type: "error", error: { type, code, message } });
  }

  /** Energy VAD on the audio clock: 60 ms voiced starts speech, the session's silence_duration_ms ends it. */
  private audio(mu: Uint8Array): void {
    for (const b of mu) this.audioIn.push(b);
    const td = this.turnDetection();
    for (let off = 0; off + 160 <= mu.length; off += 160) {
      this.clockMs += 20;
      const pcm = mulawDecode(mu.subarray(off, off + 160));
      let e = 0;
      for (const v of pcm) e += v * v;
      const voiced = Math.sqrt(e / pcm.length) > 1000;
      if (!td) continue;
      if (voiced) {
        this.lastVoicedAt = performance.now();
        this.voicedRun++;
        this.silentMs = 0;
        if (!this.speaking && this.voicedRun >= 3) {
          this.speaking = true;
          this.startedAt = this.clockMs - 60;
          const prefix = Number(td.prefix_padding_ms ?? 300);
          this.send({
            type: "input_audio_buffer.speech_started",
            audio_start_ms: Math.max(0, this.startedAt - prefix),
            item_id: `item_in_${this.seq + 1}`,
          });
          if (td.interrupt_response !== false) this.active?.stop();
        }
      } else {
        this.voicedRun = 0;
        if (this.speaking && (this.silentMs += 20) >= Number(td.silence_duration_ms ?? 500)) this.turnEnded(td);
      }
    }
  }

  private turnEnded(td: Msg): void {
    this.speaking = false;
    const itemId = this.id("item_in");
    this.send({ type: "input_audio_buffer.speech_stopped", audio_end_ms: this.clockMs, item_id: itemId });
    this.send({ type: "input_audio_buffer.committed", item_id: itemId });
    const text = this.server.callerLines.shift() ?? `caller spoke ${this.clockMs - this.startedAt - this.silentMs} ms`;
    this.items.push({
      id: itemId,
      type: "message",
      role: "user",
      content: [{ type: "input_audio", transcript: text }],
    });
    this.send({ type: "conversation.item.created", item: { id: itemId, type: "message", role: "user" } });
    this.send({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: itemId,
      content_index: 0,
      transcript: text,
    });
    if (td.create_response !== false) this.respond({});
  }

  /** What to answer: instructions quoting a line say it; else the last item decides (tool output, user line). */
  private reply(r: Msg): Reply {
    const quoted = typeof r.instructions === "string" ? /nothing else: "(.*)"$/s.exec(r.instructions) : null;
    if (quoted) return { say: quoted[1] };
    if (typeof r.instructions === "string") return { say: r.instructions.split(/[.!?]/)[0]!.slice(0, 60) };
    const last = this.items.at(-1);
    if (last?.type === "function_call_output") return this.server.onToolOutput(String(last.output), this);
    const text = last?.content?.[0]?.text ?? last?.content?.[0]?.transcript ?? "";
    return this.server.onUserTurn(String(text), this);
  }

  private respond(r: Msg): void {
    this.active?.stop();
    const id = this.id("resp");
    const rec: FakeSession["responses"][number] = {
      id,
      instructions: r.instructions,
      metadata: r.metadata,
      audioBytes: 0,
    };
    this.responses.push(rec);
    this.send({
      type: "response.created",
      response: { id, status: "in_progress", metadata: r.metadata ?? null, output: [] },
    });
    this.send({
      type: "rate_limits.updated",
      rate_limits: [
        { name: "requests", limit: 1000, remaining: this.fault?.failNextResponse ? 0 : 999, reset_seconds: 1 },
      ],
    });
    const failCode = this.fault?.failNextResponse;
    if (failCode) {
      this.fault = { ...this.fault, failNextResponse: undefined };
      rec.status = "failed";
      this.sentAudio.push(new Uint8Array(0));
      return this.send({
        type: "response.done",
        response: {
          id,
          status: "failed",
          status_details: { type: "failed", error: { type: "requests", code: failCode } },
          output: [],
        },
      });
    }
    const rep = this.reply(r);
    const itemId = this.id("item_out");
    const ms = rep.say ? (rep.ms ?? Math.max(400, rep.say.length * 60)) : 0;
    const audio = modelAudio(ms, this.seq);
    this.sentAudio.push(audio);
    if (ms) this.itemMs.set(itemId, ms);
    let off = 0;
    let deltas = 0;
    let timer: NodeJS.Timeout | undefined;
    const names = this.ga
      ? {
          delta: "response.output_audio.delta",
          done: "response.output_audio.done",
          tr: "response.output_audio_transcript.done",
        }
      : { delta: "response.audio.delta", done: "response.audio.done", tr: "response.audio_transcript.done" };
    const finish = (status: string) => {
      clearTimeout(timer);
      if (this.active?.id === id) this.active = undefined;
      rec.status = status;
      const output: Msg[] = [];
      if (ms) output.push({ id: itemId, type: "message", role: "assistant" });
      // The words come ahead of the audio: a cut response still has its whole transcript.
      if (ms && status === "cancelled")
        this.send({
          type: names.tr,
          response_id: id,
          item_id: itemId,
          output_index: 0,
          content_index: 0,
          transcript: rep.say,
        });
      if (status === "completed" && rep.tool) {
        const call = {
          id: this.id("item_fc"),
          type: "function_call",
          call_id: this.id("call"),
          name: rep.tool.name,
          arguments: JSON.stringify(rep.tool.args),
        };
        this.items.push(call);
        const fields = this.ga ? { name: call.name } : {};
        this.send({
          type: "response.function_call_arguments.done",
          response_id: id,
          item_id: call.id,
          call_id: call.call_id,
          arguments: call.arguments,
          ...fields,
        });
        this.send({ type: "response.output_item.done", response_id: id, item: call });
        output.push(call);
      }
      this.send({
        type: "response.done",
        response: {
          id,
          status,
          status_details: status === "cancelled" ? { type: "cancelled", reason: "turn_detected" } : null,
          output,
        },
      });
    };
    this.active = { id, stop: () => finish("cancelled") };
    if (!ms) return finish("completed");
    this.items.push({
      id: itemId,
      type: "message",
      role: "assistant",
      content: [{ type: "output_audio", transcript: rep.say }],
    });
    const step = () => {
      if (this.active?.id !== id) return;
      const n = Math.min(800, audio.length - off);
      this.send({
        type: names.delta,
        response_id: id,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: Buffer.from(audio.subarray(off, off + n)).toString("base64"),
      });
      off += n;
      rec.audioBytes = off;
      rec.firstDeltaAt ??= performance.now();
      if (this.fault?.disconnectAfterDeltas !== undefined && ++deltas >= this.fault.disconnectAfterDeltas)
        return this.terminate();
      if (off < audio.length) return void (timer = setTimeout(step, 100 / this.server.speedup));
      this.send({ type: names.done, response_id: id, item_id: itemId, output_index: 0, content_index: 0 });
      this.send({
        type: names.tr,
        response_id: id,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        transcript: rep.say,
      });
      finish("completed");
    };
    step();
  }
}

export class FakeRealtimeServer {
  readonly sessions: FakeSession[] = [];
  /** Caller lines the "transcription" hands out, one per turn. */
  readonly callerLines: string[] = [];
  /** Handshakes to refuse (HTTP 503) before accepting again. */
  refuse = 0;
  readonly shape: "ga" | "beta";
  readonly speedup: number;
  onUserTurn: (text: string, s: FakeSession) => Reply = (text) => ({ say: `You said: ${text}` });
  onToolOutput: (output: string, s: FakeSession) => Reply = () => ({ say: "Done." });
  /** Headers of every handshake (to check the key is sent, and how). */
  readonly handshakes: IncomingMessage["headers"][] = [];
  private constructor(
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly o: FakeOptions,
  ) {
    this.shape = o.shape ?? "ga";
    this.speedup = o.speedup ?? 4;
  }

  static async start(o: FakeOptions = {}): Promise<FakeRealtimeServer> {
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    const srv = new FakeRealtimeServer(http, wss, o);
    http.on("upgrade", (req, socket, head) => {
      srv.handshakes.push(req.headers);
      const key = req.headers.authorization?.replace(/^Bearer /, "") ?? req.headers["api-key"];
      const status = o.apiKey && key !== o.apiKey ? 401 : srv.refuse > 0 ? (srv.refuse--, 503) : 0;
      if (status)
        return void socket.end(`HTTP/1.1 ${status} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      wss.handleUpgrade(req, socket, head, (ws) => srv.sessions.push(new FakeSession(ws, srv)));
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    return srv;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}/v1/realtime`;
  }

  get last(): FakeSession | undefined {
    return this.sessions.at(-1);
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}
