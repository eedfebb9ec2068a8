/**
 * The limit baseline of the realtime bench: a bare bridge, run as its own process behind the same Caddy
 * as media. Per Twilio stream it opens one model socket, sends the one `session.update` the protocol
 * needs (the same μ-law and VAD settings media sends), then relays: each inbound `media` payload goes out
 * as `input_audio_buffer.append` with its base64 untouched, each model audio delta comes back as a
 * `media` frame at once. Nothing else: no token check, no store, no bus, no pacing, no marks, no
 * barge-in, no transcript. Whatever the real bridge costs above this is ours.
 *
 * `node --import tsx bench/realtime-limit.ts` with PORT and MODEL_URL; prints `listening` when ready.
 */
import { createServer } from "node:http";
import WebSocket, { WebSocketServer } from "ws";
import { sessionUpdate } from "../services/media/src/realtime/openai-realtime";
import { realtimeConfigSchema } from "../services/media/src/realtime/config";

const port = Number(process.env.PORT);
const modelUrl = process.env.MODEL_URL!;
const c = realtimeConfigSchema.parse({});
const opts = {
  url: modelUrl,
  model: c.REALTIME_MODEL,
  voice: c.REALTIME_VOICE,
  authHeader: "bearer" as const,
  shape: c.REALTIME_API_SHAPE,
  transcribeModel: c.REALTIME_TRANSCRIBE_MODEL,
  connectTimeoutMs: c.REALTIME_CONNECT_TIMEOUT_MS,
  vad: {
    type: c.REALTIME_VAD,
    threshold: c.REALTIME_VAD_THRESHOLD,
    prefixPaddingMs: c.REALTIME_VAD_PREFIX_MS,
    silenceDurationMs: c.REALTIME_VAD_SILENCE_MS,
  },
};
// The bench tells its calls' model sessions apart by their instructions (media takes a call's own system
// prompt); here the stream's `benchTag` parameter stands in for it. Set up once per stream, off the measured path.
const session = (tag?: string) =>
  JSON.stringify(
    sessionUpdate(opts, {
      instructions: tag ?? c.REALTIME_INSTRUCTIONS,
      tools: [],
      respondToSpeech: true,
      interruptOnSpeech: true,
    }),
  );

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const http = createServer((_req, res) => void res.writeHead(404).end());
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
wss.on("connection", (phone) => {
  let model: WebSocket | undefined;
  let streamSid = "";
  let ready = false;
  const early: string[] = [];
  phone.on("message", (d) => {
    const m: Msg = JSON.parse(d.toString());
    if (m.event === "start") {
      streamSid = m.start.streamSid;
      model = new WebSocket(`${modelUrl}?model=${c.REALTIME_MODEL}`, { perMessageDeflate: false });
      const tag = m.start.customParameters?.benchTag;
      model.on("open", () => model!.send(session(typeof tag === "string" ? tag : undefined)));
      model.on("message", (md) => {
        const e: Msg = JSON.parse(md.toString());
        if (e.type === "session.updated") {
          ready = true;
          for (const a of early.splice(0)) model!.send(a);
        } else if (e.type === "response.output_audio.delta" || e.type === "response.audio.delta") {
          phone.send(JSON.stringify({ event: "media", streamSid, media: { payload: e.delta } }));
        }
      });
      model.on("close", () => phone.close());
      model.on("error", () => phone.close());
    } else if (m.event === "media" && model) {
      const a = JSON.stringify({ type: "input_audio_buffer.append", audio: m.media.payload });
      if (ready) model.send(a);
      else early.push(a);
    } else if (m.event === "stop") phone.close();
  });
  phone.on("close", () => model?.close());
});
http.listen(port, "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => process.exit(0));
