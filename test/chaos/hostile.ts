import { randomBytes, randomInt } from "node:crypto";
import { request, Agent } from "node:https";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import WebSocket from "ws";

/** The attacker's address: another loopback address, so it is a different client than the simulator. */
export const ATTACKER = "127.0.0.2";

export interface Target {
  origin: string;
  ca: Buffer;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One HTTPS request from the attacker's address; `body` may be a Buffer or a generator of slow chunks. */
export function post(
  t: Target,
  path: string,
  o: { headers?: Record<string, string | number>; body?: string | Buffer; agent?: Agent; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = request(
      t.origin + path,
      {
        method: "POST",
        ca: t.ca,
        localAddress: ATTACKER,
        agent: o.agent ?? false,
        headers: o.headers,
        timeout: o.timeoutMs ?? 20_000,
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, body: e.message }));
    req.end(o.body);
  });
}

export interface WsClose {
  /** HTTP status when the upgrade was refused. */
  status?: number;
  code?: number;
  reason?: string;
  /** Frames this socket sent before it was closed. */
  sent: number;
  /** We closed it ourselves after sending our share. */
  byUs: boolean;
}

/**
 * Open a Media Streams socket through Caddy from the attacker's address and send `frames` (lazily,
 * one per tick of the send buffer); resolve with how it ended.
 */
export function streamSocket(
  t: Target,
  frames: Iterable<string | Buffer>,
  o: { headers?: Record<string, string>; maxFrames: number; holdMs?: number },
): Promise<WsClose> {
  return new Promise((resolve) => {
    const ws = new WebSocket(t.origin.replace(/^https/, "wss") + "/voice/stream", {
      ca: t.ca,
      localAddress: ATTACKER,
      headers: o.headers,
      handshakeTimeout: 15_000,
    });
    let sent = 0;
    let byUs = false;
    let done = false;
    const finish = (r: Omit<WsClose, "sent" | "byUs">) => {
      if (done) return;
      done = true;
      resolve({ ...r, sent, byUs });
    };
    ws.on("unexpected-response", (_req, res) => {
      finish({ status: res.statusCode });
      ws.terminate();
    });
    ws.on("error", () => finish({ code: 1006, reason: "error" }));
    ws.on("close", (code, reason) => finish({ code, reason: reason.toString() }));
    ws.on("open", async () => {
      const it = frames[Symbol.iterator]();
      while (ws.readyState === WebSocket.OPEN && sent < o.maxFrames) {
        const n = it.next();
        if (n.done) break;
        ws.send(n.value);
        sent++;
        if (ws.bufferedAmount > 64 * 1024 || sent % 50 === 0)
          await new Promise((r) => setTimeout(r, ws.bufferedAmount > 64 * 1024 ? 5 : 0));
      }
      if (o.holdMs) await new Promise((r) => setTimeout(r, o.holdMs));
      if (ws.readyState === WebSocket.OPEN) {
        byUs = true;
        ws.close(1000, "fuzz done");
      }
      setTimeout(() => ws.terminate(), 5000).unref();
    });
  });
}

const junk = (n: number) => randomBytes(n).toString("base64");

/** Random Media Streams frames: garbage, broken JSON, unknown events, wrong types, media before start, binary. */
export function* fuzzFrames(callId: string): Generator<string | Buffer> {
  const sid = `MZ${randomBytes(16).toString("hex")}`;
  for (;;) {
    switch (randomInt(10)) {
      case 0:
        yield randomBytes(randomInt(1, 400));
        break;
      case 1:
        yield `{"event":"media","media":{"payload":"${junk(randomInt(0, 300))}"`;
        break;
      case 2:
        yield JSON.stringify({ event: junk(6), streamSid: sid, x: junk(20) });
        break;
      case 3:
        yield JSON.stringify({
          event: "media",
          sequenceNumber: String(randomInt(1e6)),
          media: { track: "inbound", chunk: "1", timestamp: "5", payload: junk(160) },
          streamSid: sid,
        });
        break;
      case 4:
        yield JSON.stringify({
          event: "start",
          sequenceNumber: "1",
          start: {
            streamSid: sid,
            callSid: `CA${randomBytes(16).toString("hex")}`,
            customParameters: { callId, token: `${Date.now() + 60_000}.${junk(8)}.${junk(32).slice(0, 43)}` },
            mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
            tracks: ["inbound"],
          },
          streamSid: sid,
        });
        break;
      case 5:
        yield JSON.stringify({ event: "mark", mark: { name: junk(randomInt(1, 50)) }, streamSid: sid });
        break;
      case 6:
        yield JSON.stringify({ event: "dtmf", dtmf: { digit: junk(3) }, streamSid: sid });
        break;
      case 7:
        yield JSON.stringify([1, "start", null, { event: "stop" }]);
        break;
      case 8:
        yield "\u0000\uffff" + junk(randomInt(1, 100));
        break;
      default:
        yield JSON.stringify({
          event: "connected",
          protocol: "Call",
          version: junk(4),
          __proto__: { polluted: true },
          constructor: { prototype: { polluted: true } },
        });
    }
  }
}

/**
 * Slow-loris: a TLS socket that sends a request's first line and then one header byte every
 * `everyMs`, for at most `holdMs`. Resolves with whether the server closed it first, and when.
 */
export function slowLoris(
  t: Target,
  path: string,
  holdMs: number,
  everyMs = 1000,
): Promise<{ closedByServer: boolean; afterMs: number; answer: string }> {
  const u = new URL(t.origin);
  return new Promise((resolve) => {
    const t0 = Date.now();
    let answer = "";
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const raw = netConnect({ host: "127.0.0.1", port: Number(u.port), localAddress: ATTACKER });
    const s: TLSSocket = tlsConnect(
      { socket: raw, servername: u.hostname, ca: t.ca, ALPNProtocols: ["http/1.1"] },
      () => {
        s.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\n`);
        timer = setInterval(() => s.write("X"), everyMs);
      },
    );
    const end = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(hold);
      s.destroy();
      resolve({ closedByServer, afterMs: Date.now() - t0, answer: answer.split("\r\n")[0] ?? "" });
    };
    const hold = setTimeout(() => end(false), holdMs);
    s.on("data", (d) => (answer += d.toString()));
    s.on("close", () => end(true));
    s.on("error", () => end(true));
  });
}

/** A body that trickles in: headers promise `length` bytes, one byte arrives every `everyMs`. */
export function slowBody(
  t: Target,
  path: string,
  headers: Record<string, string>,
  length: number,
  everyMs: number,
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const req = request(
      t.origin + path,
      {
        method: "POST",
        ca: t.ca,
        localAddress: ATTACKER,
        agent: false,
        headers: { ...headers, "content-length": length },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => {
          clearInterval(timer);
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on("error", (e) => {
      clearInterval(timer);
      resolve({ status: 0, body: e.message });
    });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent++ < length - 1) req.write("a");
    }, everyMs);
  });
}
