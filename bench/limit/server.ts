/**
 * The limit: a stream server doing only what any implementation of a Media Streams agent must, run as its
 * own process beside the stack, behind the same Caddy, driven by the same simulated callers. Its numbers are
 * the floor ours are divided by (issue #20).
 *
 * - TwiML (`POST /limit/twiml?callId=…`): mint the stream token (as the gateway does; not on the measured path).
 * - `start`: verify the token's HMAC, then ONE Redis round trip (a pipeline: the token's single-use `SET NX`
 *   and the pre-rendered greeting), then the greeting in ONE `media` message and its end mark.
 * - inbound `media`: parse, base64-decode, a level VAD (rms > 0.01), batch 3 frames to the STT socket;
 *   600 ms of quiet after speech → `Finalize`; a final with words → the cached reply (held in memory) in one
 *   `media` message. 200 ms of speech from the onset while audio plays → `clear` (the same hold as ours).
 * Events go to `bench.limit.<callId>.evt` in media's `CallEvent` shape, published after the socket writes.
 */
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { connect, StringCodec } from "nats";
import WebSocket, { WebSocketServer } from "ws";
import { mintStreamToken, verifyStreamToken } from "@voicecall/auth";
import { FRAME_BYTES, mulawDecode, rms } from "@voicecall/audio";
import { LIMIT_KEYS, limitSubject } from "./keys";

const ENDPOINT_FRAMES = 600 / 20;
/** Ours pauses once 200 ms of audio from the onset frame is in: the onset frame and 9 more. */
const BARGE_FRAMES = 10;
const STT_BATCH = 3;

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const secret = env("STREAM_TOKEN_SECRET");
const publicUrl = env("PUBLIC_URL");
const redis = new Redis(env("REDIS_URL"));
const nc = await connect({ servers: env("NATS_URL") });
const sc = StringCodec();
const cached = await redis.getBuffer(LIMIT_KEYS.reply);
if (!cached) throw new Error(`${LIMIT_KEYS.reply} is not in Redis`);
const reply: Buffer = cached;
const replyB64 = reply.toString("base64");

function stream(ws: WebSocket): void {
  let callId = "";
  let sid = "";
  let stt: WebSocket | undefined;
  let batch: Buffer[] = [];
  let speaking = false;
  let quiet = 0;
  let sinceOnset = 0;
  let playEnd = 0;
  let utt = 0;
  const emit = (e: Record<string, unknown>) =>
    callId && nc.publish(limitSubject(callId), sc.encode(JSON.stringify({ callId, streamSid: sid, ...e })));
  const play = (b64: string, bytes: number, kind: string): string => {
    const id = `${kind}${++utt}`;
    ws.send(`{"event":"media","streamSid":"${sid}","media":{"payload":"${b64}"}}`);
    ws.send(`{"event":"mark","streamSid":"${sid}","mark":{"name":"${id}:end"}}`);
    playEnd = Math.max(Date.now(), playEnd) + bytes / 8;
    return id;
  };
  const flush = () => {
    if (batch.length && stt?.readyState === WebSocket.OPEN) stt.send(Buffer.concat(batch));
    batch = [];
  };
  ws.on("message", async (data) => {
    const m = JSON.parse(String(data)) as {
      event: string;
      streamSid?: string;
      start?: { callSid: string; customParameters?: Record<string, string> };
      media?: { payload: string };
      mark?: { name: string };
    };
    if (m.event === "start" && m.start) {
      sid = m.streamSid ?? "";
      const p = m.start.customParameters ?? {};
      const check = verifyStreamToken(secret, p.token ?? "", p.callId ?? "", m.start.callSid);
      if (!check.ok) return ws.close(1008, check.reason);
      const res = await redis
        .pipeline()
        .set(LIMIT_KEYS.used(check.id), "1", "PX", 600_000, "NX")
        .getBuffer(LIMIT_KEYS.greeting)
        .exec();
      const greeting = res?.[1]?.[1] as Buffer | null;
      if (res?.[0]?.[1] !== "OK" || !greeting) return ws.close(1008, "token used or no greeting");
      callId = p.callId!;
      const ts = Date.now();
      const id = play(greeting.toString("base64"), greeting.length, "g");
      emit({ type: "stream.started", ts, callSid: m.start.callSid });
      emit({ type: "agent.say", ts, utteranceId: id });
      stt = new WebSocket(`${env("DEEPGRAM_URL")}?encoding=mulaw&sample_rate=8000&channels=1`, {
        headers: { authorization: `Token ${env("DEEPGRAM_API_KEY")}` },
        perMessageDeflate: false,
      });
      stt.on("error", () => undefined);
      stt.on("message", (d) => {
        const r = JSON.parse(String(d)) as {
          type: string;
          is_final?: boolean;
          channel?: { alternatives: { transcript: string }[] };
        };
        const text = r.channel?.alternatives[0]?.transcript ?? "";
        if (r.type !== "Results" || !r.is_final || !text) return;
        const at = Date.now();
        play(replyB64, reply.length, "r");
        emit({ type: "transcript.final", ts: at, text });
      });
    } else if (m.event === "media" && m.media) {
      const frame = Buffer.from(m.media.payload, "base64");
      batch.push(frame);
      if (batch.length >= STT_BATCH) flush();
      const voiced = frame.length >= FRAME_BYTES / 2 && rms(mulawDecode(frame)) > 0.01;
      if (voiced) {
        quiet = 0;
        if (!speaking) {
          speaking = true;
          sinceOnset = 0;
          emit({ type: "speech.started", ts: Date.now() });
        }
      } else if (speaking && ++quiet >= ENDPOINT_FRAMES) {
        speaking = false;
        flush();
        if (stt?.readyState === WebSocket.OPEN) stt.send('{"type":"Finalize"}');
      }
      if (speaking && ++sinceOnset === BARGE_FRAMES && playEnd > Date.now()) {
        ws.send(`{"event":"clear","streamSid":"${sid}"}`);
        playEnd = 0;
        emit({ type: "interrupted", ts: Date.now() });
      }
    } else if (m.event === "mark" && m.mark) {
      const name = m.mark.name;
      emit({ type: "playback.mark", ts: Date.now(), utteranceId: name.slice(0, name.lastIndexOf(":")), done: true });
    } else if (m.event === "stop") ws.close(1000);
  });
  ws.on("close", () => stt?.close());
  ws.on("error", () => undefined);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = createServer((req, res) => {
  const u = new URL(req.url ?? "/", "http://x");
  if (req.method === "GET" && u.pathname === "/readyz") return void res.writeHead(200).end("ok");
  if (req.method !== "POST" || !u.pathname.startsWith("/limit/twiml")) return void res.writeHead(404).end();
  let body = "";
  req.on("data", (c: Buffer) => (body += c));
  req.on("end", () => {
    const callSid = new URLSearchParams(body).get("CallSid") ?? "";
    const callId = u.searchParams.get("callId") ?? "";
    const token = mintStreamToken(secret, callId, callSid, 600_000);
    const wss = publicUrl.replace(/^http/, "ws");
    res
      .writeHead(200, { "content-type": "text/xml" })
      .end(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="${wss}/limit/stream"><Parameter name="callId" value="${callId}"/><Parameter name="token" value="${token}"/></Stream></Connect></Response>`,
      );
  });
});
server.on("upgrade", (req, socket, head) => {
  if (!req.url?.startsWith("/limit/stream")) return socket.destroy();
  wss.handleUpgrade(req, socket, head, stream);
});
server.listen(Number(env("PORT")), "127.0.0.1");
