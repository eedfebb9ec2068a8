/**
 * The bare relay: the capacity floor (issue #20 item 1). Per Media Streams socket it does what any relay must
 * and nothing else: parse each frame, base64-decode inbound audio, send it to an STT socket in 60 ms batches
 * (as media does), and forward the agent's audio from the bus as it arrives, each chunk in one `media`
 * message and a mark (no pacing, no VAD, no barge-in, no records). Echoed marks are parsed and dropped.
 * `/metrics` has prom-client's default metrics, so the capacity ramp reads its event-loop lag as media's.
 */
import { createServer } from "node:http";
import { connect, type Subscription } from "nats";
import client from "prom-client";
import WebSocket, { WebSocketServer } from "ws";
import { subjects } from "@voicecall/contracts";

const env = (k: string) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is required`);
  return v;
};
const STT_BATCH = 3;
const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
const nc = await connect({ servers: env("NATS_URL") });
const sttUrl = `${env("DEEPGRAM_URL")}?encoding=mulaw&sample_rate=8000&channels=1`;
const sttHeaders = { authorization: `Token ${env("DEEPGRAM_API_KEY")}` };

function stream(ws: WebSocket): void {
  let sid = "";
  let sub: Subscription | undefined;
  let stt: WebSocket | undefined;
  let batch: Buffer[] = [];
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as {
      event: string;
      streamSid?: string;
      start?: { customParameters?: Record<string, string> };
      media?: { payload: string };
      mark?: { name: string };
    };
    if (m.event === "media" && m.media) {
      batch.push(Buffer.from(m.media.payload, "base64"));
      if (batch.length >= STT_BATCH) {
        if (stt?.readyState === WebSocket.OPEN) stt.send(Buffer.concat(batch));
        batch = [];
      }
    } else if (m.event === "start" && m.start) {
      sid = m.streamSid ?? "";
      stt = new WebSocket(sttUrl, { headers: sttHeaders, perMessageDeflate: false });
      stt.on("error", () => undefined);
      sub = nc.subscribe(subjects.audio(m.start.customParameters?.callId ?? "x"), {
        callback: (_e, msg) => {
          const name = `${msg.headers?.get("utteranceId") ?? "u"}:${msg.headers?.get("seq") ?? "0"}`;
          ws.send(
            `{"event":"media","streamSid":"${sid}","media":{"payload":"${Buffer.from(msg.data).toString("base64")}"}}`,
          );
          ws.send(`{"event":"mark","streamSid":"${sid}","mark":{"name":"${name}"}}`);
        },
      });
    } else if (m.event === "stop") ws.close(1000);
  });
  ws.on("close", () => {
    sub?.unsubscribe();
    stt?.close();
  });
  ws.on("error", () => undefined);
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
const server = createServer(async (req, res) => {
  if (req.url === "/metrics")
    return void res.writeHead(200, { "content-type": registry.contentType }).end(await registry.metrics());
  if (req.url === "/readyz") return void res.writeHead(200).end("ok");
  res.writeHead(404).end();
});
server.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, stream));
server.listen(Number(env("PORT")), "127.0.0.1");
