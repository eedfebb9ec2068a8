import WebSocket from "ws";
import { EventQueue } from "../speech/event-queue";
import {
  RealtimeError,
  type RealtimeEvent,
  type RealtimeModel,
  type RealtimeSession,
  type SessionOptions,
} from "./types";

export interface OpenAiRealtimeOptions {
  url: string;
  model: string;
  voice: string;
  apiKey?: string;
  /** `api-key` is Azure OpenAI's header; `bearer` everyone else's. */
  authHeader: "bearer" | "api-key";
  /** `ga`: `audio/pcmu`, `response.output_audio.*`; `beta`: `g711_ulaw`, `response.audio.*` (both are read either way). */
  shape: "ga" | "beta";
  vad: { type: "server_vad" | "semantic_vad"; threshold: number; prefixPaddingMs: number; silenceDurationMs: number };
  transcribeModel: string;
  connectTimeoutMs: number;
}

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- vendor JSON, read field by field

/** Vendor errors after which the session is of no more use: the bridge reconnects (once). */
const FATAL_CODES = new Set([
  "session_expired",
  "rate_limit_exceeded",
  "insufficient_quota",
  "server_error",
  "invalid_api_key",
]);

/**
 * Vendor text (error messages, close reasons) can quote the key, masked or not ("Incorrect API key
 * provided: sk-ab***yz"): such tokens are cut before the text goes anywhere.
 */
export function scrub(text: string, key?: string): string {
  let t = key ? text.split(key).join("[key]") : text;
  t = t.replace(/\b(sk|rk|pk)-[A-Za-z0-9*_.-]{3,}/g, "[key]");
  return t.slice(0, 300);
}

/** The OpenAI Realtime protocol (OpenAI, Azure OpenAI and servers that speak it) over its WebSocket. */
export function createOpenAiRealtime(o: OpenAiRealtimeOptions): RealtimeModel {
  return {
    label: `openai-realtime/${o.model}`,
    connect: (s) => connect(o, s),
  };
}

export function realtimeUrl(o: Pick<OpenAiRealtimeOptions, "url" | "model">): string {
  const u = new URL(o.url);
  if (!u.searchParams.has("model") && !u.searchParams.has("deployment")) u.searchParams.set("model", o.model);
  return u.toString();
}

/** `session.update` in the API's shape: G.711 μ-law 8 kHz in and out, so audio passes through untouched. */
export function sessionUpdate(
  o: OpenAiRealtimeOptions,
  s: Pick<SessionOptions, "instructions" | "tools" | "respondToSpeech" | "interruptOnSpeech">,
): Msg {
  const td: Msg = { type: o.vad.type, create_response: s.respondToSpeech, interrupt_response: s.interruptOnSpeech };
  if (o.vad.type === "server_vad")
    Object.assign(td, {
      threshold: o.vad.threshold,
      prefix_padding_ms: o.vad.prefixPaddingMs,
      silence_duration_ms: o.vad.silenceDurationMs,
    });
  const tools = s.tools.map((t) => ({
    type: "function",
    name: t.name,
    description: t.description,
    parameters: t.parameters,
  }));
  if (o.shape === "beta") {
    return {
      type: "session.update",
      session: {
        modalities: ["audio", "text"],
        instructions: s.instructions,
        voice: o.voice,
        input_audio_format: "g711_ulaw",
        output_audio_format: "g711_ulaw",
        input_audio_transcription: { model: o.transcribeModel },
        turn_detection: td,
        tools,
        tool_choice: "auto",
      },
    };
  }
  return {
    type: "session.update",
    session: {
      type: "realtime",
      model: o.model,
      instructions: s.instructions,
      output_modalities: ["audio"],
      audio: {
        input: { format: { type: "audio/pcmu" }, transcription: { model: o.transcribeModel }, turn_detection: td },
        output: { format: { type: "audio/pcmu" }, voice: o.voice },
      },
      tools,
      tool_choice: "auto",
    },
  };
}

function connect(o: OpenAiRealtimeOptions, s: SessionOptions): Promise<RealtimeSession> {
  const headers: Record<string, string> = {};
  if (o.apiKey)
    headers[o.authHeader === "api-key" ? "api-key" : "Authorization"] =
      o.authHeader === "api-key" ? o.apiKey : `Bearer ${o.apiKey}`;
  if (o.shape === "beta") headers["OpenAI-Beta"] = "realtime=v1";
  const ws = new WebSocket(realtimeUrl(o), { headers, perMessageDeflate: false, handshakeTimeout: o.connectTimeoutMs });
  const events = new EventQueue<RealtimeEvent>();
  let closedByUs = false;
  const send = (m: Msg) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
  };
  const session: RealtimeSession = {
    events,
    appendAudio: (mu) =>
      send({
        type: "input_audio_buffer.append",
        audio: Buffer.from(mu.buffer, mu.byteOffset, mu.length).toString("base64"),
      }),
    // The tag rides in `metadata`, which the server echoes on `response.created`: responses we asked for
    // (greeting, re-prompt) are told apart from those the model's VAD started.
    respond: (instructions, tag) =>
      send({
        type: "response.create",
        response: { ...(instructions ? { instructions } : {}), ...(tag ? { metadata: { vc: tag } } : {}) },
      }),
    cancelResponse: () => send({ type: "response.cancel" }),
    addText: (role, text) => send({ type: "conversation.item.create", item: textItem(o.shape, role, text) }),
    toolOutput: (callId, output) =>
      send({ type: "conversation.item.create", item: { type: "function_call_output", call_id: callId, output } }),
    truncate: (itemId, audioEndMs) =>
      send({
        type: "conversation.item.truncate",
        item_id: itemId,
        content_index: 0,
        audio_end_ms: Math.max(0, Math.floor(audioEndMs)),
      }),
    close: () => {
      closedByUs = true;
      events.end();
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
    },
  };
  s.signal.addEventListener("abort", () => session.close(), { once: true });
  const tools = new Set<string>();
  return new Promise<RealtimeSession>((resolve, reject) => {
    let ready = false;
    const timer = setTimeout(
      () => fail(new RealtimeError("realtime session not ready in time", "timeout", true)),
      o.connectTimeoutMs,
    );
    const fail = (e: RealtimeError) => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      closedByUs = true;
      ws.terminate();
      reject(e);
    };
    ws.on("unexpected-response", (_req, res) => {
      const st = res.statusCode ?? 0;
      fail(
        new RealtimeError(
          `realtime handshake refused (HTTP ${st})`,
          `http_${st}`,
          st === 408 || st === 429 || st >= 500,
        ),
      );
    });
    ws.on("error", (err) =>
      fail(
        new RealtimeError("realtime socket error", (err as NodeJS.ErrnoException).code ?? "socket_error", true, {
          cause: err,
        }),
      ),
    );
    ws.on("open", () => {
      send(sessionUpdate(o, s));
      for (const h of s.history) send({ type: "conversation.item.create", item: textItem(o.shape, h.role, h.text) });
    });
    ws.on("close", (code, reason) => {
      if (!ready)
        fail(new RealtimeError(`realtime socket closed before the session was ready (${code})`, `close_${code}`, true));
      if (!closedByUs) events.push({ type: "closed", code, reason: scrub(reason.toString(), o.apiKey) });
      events.end();
    });
    ws.on("message", (data) => {
      let m: Msg;
      try {
        m = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (!ready) {
        if (m.type === "session.updated") {
          ready = true;
          clearTimeout(timer);
          return resolve(session);
        }
        if (m.type === "error")
          return fail(
            new RealtimeError(
              `realtime session refused: ${scrub(String(m.error?.message ?? ""), o.apiKey)}`,
              String(m.error?.code ?? m.error?.type ?? "error"),
              false,
            ),
          );
        return;
      }
      const ev = translate(m, tools);
      if (ev?.type === "error") ev.message = scrub(ev.message, o.apiKey);
      if (ev) events.push(ev);
    });
  });
}

function textItem(shape: "ga" | "beta", role: "user" | "assistant", text: string): Msg {
  const type = role === "user" ? "input_text" : shape === "ga" ? "output_text" : "text";
  return { type: "message", role, content: [{ type, text }] };
}

/** One server event → ours. GA and beta names are both read: servers differ in which they send. */
export function translate(m: Msg, toolsSeen: Set<string>): RealtimeEvent | undefined {
  switch (m.type) {
    case "input_audio_buffer.speech_started":
      return { type: "speech.started", itemId: m.item_id, audioStartMs: m.audio_start_ms };
    case "input_audio_buffer.speech_stopped":
      return { type: "speech.stopped", itemId: m.item_id, audioEndMs: m.audio_end_ms };
    case "response.created":
      return {
        type: "response.started",
        responseId: String(m.response?.id ?? ""),
        tag: typeof m.response?.metadata?.vc === "string" ? m.response.metadata.vc : undefined,
      };
    case "response.output_audio.delta":
    case "response.audio.delta": {
      const b = Buffer.from(String(m.delta ?? ""), "base64");
      return {
        type: "audio",
        responseId: String(m.response_id),
        itemId: String(m.item_id),
        audio: new Uint8Array(b.buffer, b.byteOffset, b.length),
      };
    }
    case "response.output_audio.done":
    case "response.audio.done":
      return { type: "audio.done", responseId: String(m.response_id), itemId: String(m.item_id) };
    case "response.output_audio_transcript.done":
    case "response.audio_transcript.done":
      return { type: "transcript.agent", itemId: String(m.item_id), text: String(m.transcript ?? "") };
    case "conversation.item.input_audio_transcription.completed":
      return { type: "transcript.caller", itemId: String(m.item_id), text: String(m.transcript ?? "") };
    case "response.function_call_arguments.done":
      if (!m.name) return undefined; // older servers name the function only in output_item.done
      return toolCall(m.response_id, m.call_id, m.name, m.arguments, toolsSeen);
    case "response.output_item.done":
      if (m.item?.type !== "function_call") return undefined;
      return toolCall(m.response_id, m.item.call_id, m.item.name, m.item.arguments, toolsSeen);
    case "response.done": {
      const r = m.response ?? {};
      return {
        type: "response.done",
        responseId: String(r.id ?? ""),
        status: String(r.status ?? "completed"),
        code: r.status_details?.error?.code ?? r.status_details?.reason,
      };
    }
    case "rate_limits.updated":
      return {
        type: "rate-limits",
        limits: (Array.isArray(m.rate_limits) ? m.rate_limits : []).map((l: Msg) => ({
          name: String(l.name),
          remaining: Number(l.remaining),
          resetSeconds: Number(l.reset_seconds),
        })),
      };
    case "error": {
      const code = String(m.error?.code ?? m.error?.type ?? "error");
      return {
        type: "error",
        code,
        message: String(m.error?.message ?? "").slice(0, 300),
        fatal: FATAL_CODES.has(code) || m.error?.type === "server_error",
      };
    }
    default:
      return undefined;
  }
}

function toolCall(
  responseId: unknown,
  callId: unknown,
  name: unknown,
  rawArgs: unknown,
  seen: Set<string>,
): RealtimeEvent | undefined {
  const id = String(callId ?? "");
  if (!id || seen.has(id)) return undefined;
  seen.add(id);
  let args: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(String(rawArgs ?? "{}"));
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) args = parsed;
  } catch {
    /* malformed arguments: the bridge sees an empty object and refuses the call */
  }
  return { type: "tool.call", responseId: String(responseId ?? ""), callId: id, name: String(name ?? ""), args };
}
