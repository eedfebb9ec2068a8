import { toBase64, fromBase64 } from "./mulaw";
import { startCapture } from "./capture";
import { Playback } from "./playback";
import { explainRefusal } from "./explain";
import { StreamFrames } from "@voicecall/twilio-sim/frames";

// The browser phone: speaks Twilio's Media Streams protocol itself, so the call takes the same
// path (media, agent, tts) as a phone call. Plain DOM, no framework.
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state = $("state");
const transcript = $("transcript");
const tokenInput = $<HTMLInputElement>("token");
const callBtn = $<HTMLButtonElement>("call");
const hangupBtn = $<HTMLButtonElement>("hangup");
const keys = () => document.querySelectorAll<HTMLButtonElement>("#keypad button");

const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
tokenInput.value = fromHash ?? localStorage.getItem("vc-token") ?? "";
if (fromHash) history.replaceState(null, "", location.pathname + location.search);

interface WebCall {
  callId: string;
  callSid: string;
  accountSid: string;
  streamSid: string;
  streamUrl: string;
  token: string;
}

/** Milliseconds since the Call click (performance.now), for `window.phoneStats`. */
interface PhoneStats {
  micOpenMs?: number;
  callCreatedMs?: number;
  streamOpenMs?: number;
  firstMediaMs?: number;
  /** When the first agent audio was scheduled to be heard. */
  firstAudioMs?: number;
  /** The caller's last final transcript, and when the agent audio after it was scheduled to be heard. */
  callerFinalMs?: number;
  replyAudioMs?: number;
  marksEchoed: number;
  /** `clear` messages honoured (barge-in). */
  clears: number;
  /** Most agent audio the page's own buffer held ahead of playback (ms), and what a clear left in it. */
  maxBufferedMs?: number;
  bufferedAfterClearMs?: number;
}
const w = window as unknown as { phoneStats?: PhoneStats };
let since = () => 0;

interface Active {
  call: WebCall;
  ws: WebSocket;
  abort: AbortController;
  /** Twilio's side of the stream, which the page plays: its messages, numbered. */
  frames: StreamFrames;
  send: (text: string) => void;
  stop: () => void;
}
let active: Active | undefined;

function setState(s: string) {
  state.textContent = s;
  document.body.dataset.state = s;
}

function line(role: "caller" | "agent" | "system", text: string) {
  const li = document.createElement("li");
  li.className = role;
  li.textContent = role === "system" ? `· ${text}` : `${role === "caller" ? "You" : "Agent"}: ${text}`;
  transcript.appendChild(li);
  li.scrollIntoView({ block: "end" });
}

function api(path: string, body?: unknown): Promise<Response> {
  return fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${tokenInput.value}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * Server-sent events through fetch (EventSource cannot send the Authorization header). Resolves once
 * the server says it is subscribed (`ready`), so nothing said after the stream starts is missed; the
 * rest is read in the background until the signal aborts.
 */
async function follow(callId: string, signal: AbortSignal): Promise<void> {
  const res = await fetch(`/phone/events/${encodeURIComponent(callId)}`, {
    headers: { authorization: `Bearer ${tokenInput.value}` },
    signal,
  });
  if (!res.ok || !res.body) throw new Error(`live transcript: HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let ready = false;
  const next = async (): Promise<boolean> => {
    const { value, done } = await reader.read();
    if (done) return false;
    buf += value;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = chunk
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      if (!data) continue;
      const e = JSON.parse(data);
      if (e.type === "ready") ready = true;
      else onEvent(e);
    }
    return true;
  };
  while (!ready) if (!(await next())) throw new Error("live transcript closed");
  void (async () => {
    while (await next());
  })().catch(() => undefined);
}

const TERMINAL = ["completed", "failed", "canceled", "busy", "no-answer", "rejected"];

function onEvent(e: { type: string; text?: string; state?: string; playedMs?: number; digit?: string }) {
  if (e.type === "transcript.final" && e.text) {
    line("caller", e.text);
    if (w.phoneStats) {
      w.phoneStats.callerFinalMs = since();
      w.phoneStats.replyAudioMs = undefined;
    }
  } else if (e.type === "say" && e.text) line("agent", e.text);
  // A realtime call has no `say`: the model's words come as what the caller heard of them.
  else if (e.type === "transcript.agent" && e.text) line("agent", e.text);
  else if (e.type === "interrupted") line("system", `interrupted after ${Math.round((e.playedMs ?? 0) / 100) / 10}s`);
  else if (e.type === "call.state" && e.state) {
    setState(e.state);
    if (TERMINAL.includes(e.state)) void end(false);
  }
}

function setLive(live: boolean) {
  callBtn.disabled = live;
  hangupBtn.disabled = !live;
  keys().forEach((b) => (b.disabled = !live));
}

async function call() {
  // The AudioContext is made inside the click so the autoplay policy lets it run.
  const ctx = new AudioContext();
  const t0 = performance.now();
  const stats: PhoneStats = (w.phoneStats = { marksEchoed: 0, clears: 0 });
  since = () => Math.round(performance.now() - t0);
  localStorage.setItem("vc-token", tokenInput.value);
  callBtn.disabled = true;
  transcript.replaceChildren();
  setState("dialing");
  let mic: MediaStream;
  try {
    mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
    });
  } catch (err) {
    void ctx.close();
    throw new Error(`microphone: ${(err as Error).message}`);
  }
  stats.micOpenMs = since();
  const res = await api("/phone/calls", {});
  if (!res.ok) {
    mic.getTracks().forEach((t) => t.stop());
    void ctx.close();
    setState(`error ${res.status}`);
    line("system", explainRefusal(res.status, await res.text()));
    callBtn.disabled = false;
    return;
  }
  const c = (await res.json()) as WebCall;
  stats.callCreatedMs = since();
  document.body.dataset.callId = c.callId;
  const abort = new AbortController();
  const ws = new WebSocket(c.streamUrl);
  const frames = new StreamFrames({ accountSid: c.accountSid, callSid: c.callSid, streamSid: c.streamSid });
  let chunk = 0;
  const send = (text: string) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(text);
  };
  const playback = new Playback(ctx, (name) => {
    stats.marksEchoed++;
    send(frames.mark(name));
  });
  let stopCapture = () => {};
  active = {
    call: c,
    ws,
    abort,
    frames,
    send,
    stop: () => {
      stopCapture();
      playback.close();
      mic.getTracks().forEach((t) => t.stop());
      void ctx.close();
    },
  };
  // Follow the call's events before the stream starts: the greeting is said as soon as it does.
  const following = follow(c.callId, abort.signal);
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("media stream failed to open"));
  });
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data));
    if (msg.event === "media") {
      stats.firstMediaMs ??= since();
      const startsIn = playback.enqueue(fromBase64(msg.media.payload));
      const heardAt = Math.round(since() + startsIn * 1000);
      stats.maxBufferedMs = Math.max(stats.maxBufferedMs ?? 0, Math.round(playback.bufferedMs));
      stats.firstAudioMs ??= heardAt;
      if (stats.callerFinalMs !== undefined) stats.replyAudioMs ??= heardAt;
    } else if (msg.event === "mark") playback.mark(msg.mark.name);
    else if (msg.event === "clear") {
      stats.clears++;
      playback.clear();
      stats.bufferedAfterClearMs = playback.bufferedMs;
    }
  };
  ws.onclose = (e) => {
    line("system", `stream closed${e.reason ? `: ${e.reason}` : ""}`);
    void end(false);
  };
  try {
    await Promise.all([following, opened]);
  } catch (err) {
    await end(true);
    throw err;
  }
  if (active?.ws !== ws) return;
  stats.streamOpenMs = since();
  send(frames.connected());
  send(frames.start({ callId: c.callId, token: c.token }));
  setState("in-progress");
  setLive(true);
  if (ctx.state === "suspended") await ctx.resume();
  stopCapture = await startCapture(ctx, mic, (mu) => {
    chunk++;
    send(frames.media({ chunk, timestampMs: chunk * 20 }, toBase64(mu)));
  });
}

async function end(byUser: boolean) {
  const a = active;
  if (!a) return;
  active = undefined;
  if (byUser) a.send(a.frames.stop());
  a.ws.close(1000, "hangup");
  a.stop();
  setLive(false);
  if (byUser) await api(`/phone/calls/${encodeURIComponent(a.call.callId)}/hangup`, {}).catch(() => undefined);
  // Keep the live transcript a moment for the last events (the final call state).
  setTimeout(() => a.abort.abort(), 2000);
  setState(byUser ? "completed" : state.textContent === "in-progress" ? "ended" : (state.textContent ?? "ended"));
}

callBtn.onclick = () =>
  void call().catch((err) => {
    setState("error");
    line("system", String((err as Error).message ?? err));
    callBtn.disabled = false;
  });
hangupBtn.onclick = () => void end(true);
keys().forEach((b) => {
  b.onclick = () => {
    const a = active;
    if (!a || a.ws.readyState !== WebSocket.OPEN) return;
    a.send(a.frames.dtmf(b.textContent ?? ""));
    line("system", `you pressed ${b.textContent}`);
  };
});
