import { toBase64, fromBase64 } from "./mulaw";
import { startCapture } from "./capture";
import { Playback } from "./playback";

// The browser phone: speaks Twilio's Media Streams protocol itself, so the call takes the same
// path (media, agent, tts) as a phone call. Plain DOM, no framework.
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state = $("state");
const transcript = $("transcript");
const tokenInput = $<HTMLInputElement>("token");
const callBtn = $<HTMLButtonElement>("call");
const hangupBtn = $<HTMLButtonElement>("hangup");

const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
tokenInput.value = fromHash ?? localStorage.getItem("vc-token") ?? "";

interface WebCall {
  callId: string;
  callSid: string;
  accountSid: string;
  streamSid: string;
  streamUrl: string;
  token: string;
}

let active: { call: WebCall; ws: WebSocket; stop: () => void; abort: AbortController } | undefined;

function setState(s: string) {
  state.textContent = s;
  document.body.dataset.state = s;
}

function line(role: "caller" | "agent" | "system", text: string) {
  const li = document.createElement("li");
  li.className = role;
  li.textContent = `${role === "caller" ? "You" : role === "agent" ? "Agent" : "•"}: ${text}`;
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

/** Server-sent events through fetch (EventSource cannot send the Authorization header). */
async function follow(callId: string, signal: AbortSignal) {
  const res = await fetch(`/phone/events/${callId}`, { headers: { authorization: `Bearer ${tokenInput.value}` }, signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const chunk = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = chunk.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

function onEvent(e: { type: string; text?: string; state?: string; playedMs?: number }) {
  if (e.type === "transcript.final" && e.text) line("caller", e.text);
  else if (e.type === "say" && e.text) line("agent", e.text);
  else if (e.type === "interrupted") line("system", `interrupted after ${Math.round((e.playedMs ?? 0) / 100) / 10}s`);
  else if (e.type === "call.state" && e.state) {
    setState(e.state);
    if (["completed", "failed", "canceled", "busy", "no-answer", "rejected"].includes(e.state)) void end(false);
  }
}

async function call() {
  localStorage.setItem("vc-token", tokenInput.value);
  callBtn.disabled = true;
  setState("dialing");
  const res = await api("/phone/calls", {});
  if (!res.ok) {
    setState(`error ${res.status}`);
    line("system", await res.text());
    callBtn.disabled = false;
    return;
  }
  const c = (await res.json()) as WebCall;
  const mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 } });
  const ctx = new AudioContext();
  const ws = new WebSocket(c.streamUrl);
  let seq = 0;
  let chunk = 0;
  const send = (o: object) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(o));
  const playback = new Playback(ctx, (name) => send({ event: "mark", sequenceNumber: String(++seq), streamSid: c.streamSid, mark: { name } }));
  const abort = new AbortController();
  let stopCapture = () => {};
  ws.onopen = async () => {
    send({ event: "connected", protocol: "Call", version: "1.0.0" });
    send({
      event: "start",
      sequenceNumber: String(++seq),
      start: { accountSid: c.accountSid, streamSid: c.streamSid, callSid: c.callSid, tracks: ["inbound"], mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 }, customParameters: { callId: c.callId, token: c.token } },
      streamSid: c.streamSid,
    });
    setState("in-progress");
    stopCapture = await startCapture(ctx, mic, (mu) => {
      chunk++;
      send({ event: "media", sequenceNumber: String(++seq), media: { track: "inbound", chunk: String(chunk), timestamp: String(chunk * 20), payload: toBase64(mu) }, streamSid: c.streamSid });
    });
  };
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data));
    if (msg.event === "media") playback.enqueue(fromBase64(msg.media.payload));
    else if (msg.event === "mark") playback.mark(msg.mark.name);
    else if (msg.event === "clear") playback.clear();
  };
  ws.onclose = (e) => {
    line("system", `stream closed${e.reason ? `: ${e.reason}` : ""}`);
    void end(false);
  };
  active = {
    call: c,
    ws,
    abort,
    stop: () => {
      stopCapture();
      playback.close();
      mic.getTracks().forEach((t) => t.stop());
      void ctx.close();
    },
  };
  hangupBtn.disabled = false;
  document.querySelectorAll<HTMLButtonElement>("#keypad button").forEach((b) => (b.disabled = false));
  void follow(c.callId, abort.signal).catch(() => undefined);
}

async function end(byUser: boolean) {
  const a = active;
  if (!a) return;
  active = undefined;
  if (byUser && a.ws.readyState === WebSocket.OPEN) {
    a.ws.send(JSON.stringify({ event: "stop", sequenceNumber: "0", stop: { accountSid: a.call.accountSid, callSid: a.call.callSid }, streamSid: a.call.streamSid }));
  }
  a.ws.close(1000, "hangup");
  a.stop();
  if (byUser) await api(`/phone/calls/${a.call.callId}/hangup`, {});
  setTimeout(() => a.abort.abort(), 2000);
  setState(byUser ? "completed" : state.textContent === "in-progress" ? "ended" : state.textContent ?? "ended");
  callBtn.disabled = false;
  hangupBtn.disabled = true;
  document.querySelectorAll<HTMLButtonElement>("#keypad button").forEach((b) => (b.disabled = true));
}

callBtn.onclick = () => void call().catch((err) => (setState("error"), line("system", String(err)), (callBtn.disabled = false)));
hangupBtn.onclick = () => void end(true);
document.querySelectorAll<HTMLButtonElement>("#keypad button").forEach((b) => {
  b.onclick = () => {
    const a = active;
    if (!a) return;
    a.ws.send(JSON.stringify({ event: "dtmf", streamSid: a.call.streamSid, sequenceNumber: "0", dtmf: { track: "inbound_track", digit: b.textContent } }));
    line("system", `pressed ${b.textContent}`);
  };
});
