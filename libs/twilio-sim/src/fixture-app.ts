import express from "express";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { validTwilioSignature } from "@voicecall/auth";

/** A webhook the fixture app received. */
export interface FixtureHook {
  path: string;
  params: Record<string, string>;
  validSignature: boolean;
  idempotencyToken?: string;
  at: number;
}

export interface FixtureSocket {
  ws: WebSocket;
  path: string;
  messages: { at: number; msg: Record<string, any> }[];
  closed?: { code: number; at: number };
}

/**
 * A stand-in for the voicecall stack in the simulator's own tests: an express app answering
 * webhooks from a path → TwiML table and a ws server for Media Streams, both validating Twilio
 * signatures against the public (Caddy) origin, as the gateway and media services must.
 */
export class FixtureApp {
  readonly hooks: FixtureHook[] = [];
  readonly sockets: FixtureSocket[] = [];
  readonly upgrades: { path: string; url: string; validSignature: boolean }[] = [];
  /** path → TwiML (or a function of the params). Unknown paths get `<Response/>`. */
  twiml: Record<string, string | ((p: Record<string, string>) => string)> = {};
  /** path → ms: the first request to the path is answered only after this long (an app slow once). */
  slowFirst: Record<string, number> = {};
  /** Answer stream upgrades on this path with this HTTP status instead of 101. */
  rejectUpgrade: Record<string, number> = {};
  onSocket?: (s: FixtureSocket) => void;
  publicOrigin = "";
  private server: Server;
  private wss = new WebSocketServer({ noServer: true });

  constructor(readonly authToken: string) {
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.all(/.*/, (req, res) => {
      const params = (req.method === "GET" ? req.query : req.body) as Record<string, string>;
      const url = this.publicOrigin + req.originalUrl;
      const valid = validTwilioSignature(
        this.authToken,
        req.header("x-twilio-signature"),
        url,
        req.method === "GET" ? {} : params,
      );
      this.hooks.push({
        path: req.path,
        params,
        validSignature: valid,
        idempotencyToken: req.header("i-twilio-idempotency-token"),
        at: Date.now(),
      });
      if (!valid) return void res.status(403).send("bad signature");
      const t = this.twiml[req.path];
      const answer = () => void res.type("text/xml").send(typeof t === "function" ? t(params) : (t ?? "<Response/>"));
      const slow = this.slowFirst[req.path];
      if (slow === undefined) return answer();
      delete this.slowFirst[req.path];
      setTimeout(answer, slow);
    });
    this.server = createServer(app);
    this.server.on("upgrade", (req: IncomingMessage, socket, head) => {
      const path = (req.url ?? "").split("?")[0]!;
      const wssUrl = this.publicOrigin.replace(/^https/, "wss") + req.url;
      const valid = validTwilioSignature(
        this.authToken,
        req.headers["x-twilio-signature"] as string | undefined,
        wssUrl,
        {},
      );
      this.upgrades.push({ path, url: req.url ?? "", validSignature: valid });
      const status = !valid ? 403 : this.rejectUpgrade[path];
      if (status) {
        socket.end(`HTTP/1.1 ${status} Rejected\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const s: FixtureSocket = { ws, path, messages: [] };
        this.sockets.push(s);
        ws.on("message", (d) => s.messages.push({ at: Date.now(), msg: JSON.parse(d.toString()) }));
        ws.on("close", (code) => (s.closed = { code, at: Date.now() }));
        this.onSocket?.(s);
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** The `streamSid` from a socket's `start` message. */
export const streamSidOf = (s: FixtureSocket): string => s.messages.find((m) => m.msg.event === "start")?.msg.streamSid;
