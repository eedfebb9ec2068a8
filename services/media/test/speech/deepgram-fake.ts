/**
 * A local stand-in for Deepgram's live API (test support, not used by the service): checks the
 * `Authorization: Token` header and the audio query parameters, takes binary mu-law frames, sends
 * `Results` messages (interim every `interimEveryMs` of audio, final on `Finalize`/`CloseStream`),
 * answers `CloseStream` with `Metadata` and closes. What it "hears" comes from `transcribe`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

export interface FakeDeepgramOptions {
  apiKey: string;
  /** Text for the audio received since the last finalisation. */
  transcribe: (mu: Uint8Array) => string;
  interimEveryMs?: number;
}

export interface FakeDeepgram {
  url: string;
  /** Text messages received, in order (KeepAlive, Finalize, CloseStream). */
  readonly controls: string[];
  /** Query strings of accepted connections. */
  readonly queries: URLSearchParams[];
  /** Cut every open socket without a close frame (a network drop); the server keeps accepting. */
  drop(): void;
  close(): Promise<void>;
}

export async function startFakeDeepgram(o: FakeDeepgramOptions): Promise<FakeDeepgram> {
  const controls: string[] = [];
  const queries: URLSearchParams[] = [];
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  http.on("upgrade", (req, socket, head) => {
    const u = new URL(req.url ?? "/", "http://x");
    const q = u.searchParams;
    const formatOk =
      u.pathname === "/v1/listen" &&
      q.get("encoding") === "mulaw" &&
      q.get("sample_rate") === "8000" &&
      q.get("channels") === "1";
    if (req.headers.authorization !== `Token ${o.apiKey}`) return reject(socket, 401, "Unauthorized");
    if (!formatOk) return reject(socket, 400, "Bad Request");
    queries.push(q);
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, q.get("interim_results") === "true"));
  });
  const reject = (socket: import("node:stream").Duplex, code: number, text: string) => {
    socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  };

  const serve = (ws: WebSocket, interim: boolean) => {
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    let sinceInterim = 0;
    let start = 0; // seconds of audio already finalised
    const audio = () => {
      const out = new Uint8Array(bytes);
      let off = 0;
      for (const c of chunks) (out.set(c, off), (off += c.length));
      return out;
    };
    const results = (isFinal: boolean, fromFinalize: boolean) => {
      const text = o.transcribe(audio());
      const duration = bytes / 8000;
      ws.send(
        JSON.stringify({
          type: "Results",
          channel_index: [0, 1],
          duration,
          start,
          is_final: isFinal,
          speech_final: false,
          from_finalize: fromFinalize,
          channel: { alternatives: [{ transcript: text, confidence: 0.98, words: [] }] },
          metadata: { request_id: "fake", model_info: { name: "fake" } },
        }),
      );
    };
    const finalise = () => {
      results(true, true);
      start += bytes / 8000;
      chunks.length = 0;
      bytes = 0;
      sinceInterim = 0;
    };
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        const b = new Uint8Array(data as Buffer);
        chunks.push(b);
        bytes += b.length;
        sinceInterim += b.length;
        if (interim && sinceInterim >= (o.interimEveryMs ?? 500) * 8) {
          sinceInterim = 0;
          results(false, false);
        }
        return;
      }
      const msg = JSON.parse(data.toString()) as { type: string };
      controls.push(msg.type);
      if (msg.type === "Finalize") finalise();
      if (msg.type === "CloseStream") {
        if (bytes > 0) finalise();
        ws.send(JSON.stringify({ type: "Metadata", request_id: "fake", duration: start, channels: 1 }));
        ws.close(1000);
      }
    });
  };

  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/v1/listen`,
    controls,
    queries,
    drop() {
      for (const c of wss.clients) c.terminate();
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
