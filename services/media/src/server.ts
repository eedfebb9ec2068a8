import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { validTwilioSignature } from "@voicecall/auth";
import type { Logger } from "@voicecall/log";
import { parseInbound } from "./twilio-codec";
import { StreamSession, type SessionDeps } from "./session";

export const STREAM_PATH = "/voice/stream";

export type StreamServerDeps = Omit<SessionDeps, "onLive" | "onEnded" | "grace" | "signed" | "socket"> & {
  log: Logger;
};

/**
 * The `/voice/stream` WebSocket endpoint on an existing HTTP server (`noServer` + our own upgrade
 * handler, so a bad upgrade is refused before the handshake). Socket hygiene lives here; the Media
 * Streams protocol lives in `StreamSession`.
 */
/** The agent answers a recovered caller line up to 30 s old (RECOVER_MAX_AGE_MS); so old is worth resending. */
const RESEND_FINAL_MAX_AGE_MS = 30_000;

export class StreamServer {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<StreamSession>();
  private readonly byCall = new Map<string, StreamSession>();
  private readonly pendingByAddr = new Map<string, number>();
  private pendingTotal = 0;
  private readonly graces = new Map<string, { t: NodeJS.Timeout; fn: () => Promise<void> }>();
  private draining = false;
  private readonly publicHost: string;

  constructor(
    http: Server,
    private readonly d: StreamServerDeps,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: d.cfg.STREAM_MAX_PAYLOAD, perMessageDeflate: false });
    this.publicHost = new URL(d.cfg.PUBLIC_URL).host;
    http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    void this.watchReconnects();
  }

  /** After a NATS reconnect, each live stream sends its newest caller final again (see `resendLastFinal`). */
  private async watchReconnects(): Promise<void> {
    for await (const s of this.d.bus.nc.status()) {
      if (s.type !== "reconnect") continue;
      const sent = [...this.byCall.values()].filter((x) => x.resendLastFinal(RESEND_FINAL_MAX_AGE_MS)).length;
      this.d.log.info(
        { streams: this.byCall.size, finalsResent: sent },
        "nats reconnected, recent caller finals sent again",
      );
    }
  }

  /** Live streams on this worker. */
  get live(): number {
    return this.byCall.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path !== STREAM_PATH && path !== STREAM_PATH + "/") return refuse(socket, 404, "Not Found");
    // Only on a connection accepted before the drain began (the listener is closed by then).
    if (this.draining) return refuse(socket, 503, "Service Unavailable");
    const sig = req.headers["x-twilio-signature"];
    const token = this.d.cfg.TWILIO_AUTH_TOKEN;
    if (sig !== undefined && token && !validTwilioSignature(token, String(sig), `wss://${this.publicHost}${path}`)) {
      this.d.log.warn({ path }, "stream upgrade refused: bad signature");
      return refuse(socket, 403, "Forbidden");
    }
    // Twilio signs every handshake; an unsigned one may still be the browser phone (its token decides).
    const signed = sig !== undefined && !!token;
    const addr = clientAddress(req);
    if (
      this.pendingTotal >= this.d.cfg.MAX_PENDING_TOTAL ||
      (this.pendingByAddr.get(addr) ?? 0) >= this.d.cfg.MAX_PENDING_PER_ADDRESS
    ) {
      this.d.log.warn({ pendingTotal: this.pendingTotal }, "stream upgrade refused: too many pending sockets");
      return refuse(socket, 429, "Too Many Requests");
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.connection(ws, addr, signed, socket));
  }

  private connection(ws: WebSocket, addr: string, signed: boolean, socket: Duplex): void {
    const { cfg, log } = this.d;
    this.pendingTotal++;
    this.pendingByAddr.set(addr, (this.pendingByAddr.get(addr) ?? 0) + 1);
    let pending = true;
    const unpend = () => {
      if (!pending) return;
      pending = false;
      this.pendingTotal--;
      const n = (this.pendingByAddr.get(addr) ?? 1) - 1;
      if (n <= 0) this.pendingByAddr.delete(addr);
      else this.pendingByAddr.set(addr, n);
    };
    const session: StreamSession = new StreamSession(ws, {
      ...this.d,
      signed,
      socket,
      onLive: (s) => {
        unpend();
        clearTimeout(startTimer);
        const prev = this.byCall.get(s.callId!);
        this.byCall.set(s.callId!, s);
        if (prev && prev !== s) prev.supersede();
      },
      onEnded: (s) => {
        unpend();
        clearTimeout(startTimer);
        this.sessions.delete(s);
        if (s.callId && this.byCall.get(s.callId) === s) this.byCall.delete(s.callId);
      },
      grace: (streamSid, fn) => this.grace(streamSid, fn),
    });
    this.sessions.add(session);
    const startTimer = setTimeout(() => {
      if (session.state === "pending" || session.state === "starting") close(ws, 1008, "no valid start");
    }, cfg.STREAM_START_TIMEOUT_MS);

    // Flood cut-off: a token bucket over inbound messages.
    let tokens = cfg.FLOOD_BURST;
    let last = Date.now();
    let invalid = 0;
    let driftLogged = false;
    ws.on("message", (data: RawData, isBinary: boolean) => {
      const now = Date.now();
      tokens = Math.min(cfg.FLOOD_BURST, tokens + ((now - last) * cfg.FLOOD_PER_SECOND) / 1000);
      last = now;
      if (--tokens < 0) {
        if (ws.readyState === ws.OPEN) log.warn({ callId: session.callId }, "stream flood cut off");
        return close(ws, 1008, "flood");
      }
      const r = parseInbound(isBinary ? data : data.toString());
      if (!r.ok) {
        invalid++;
        if (invalid <= 3)
          log.warn({ reason: r.reason, detail: r.detail, callId: session.callId }, "stream frame skipped");
        if (invalid > cfg.MAX_INVALID_FRAMES) close(ws, 1008, "too many invalid frames");
        return;
      }
      if (r.drift && !driftLogged) {
        driftLogged = true;
        log.warn(
          { drift: r.drift, event: r.event.event, callId: session.callId },
          "stream frame fields differ from Twilio's documented shape (accepted; logged once per stream)",
        );
      }
      try {
        session.onFrame(r.event);
      } catch (err) {
        log.error({ err, callId: session.callId }, "stream frame handler failed");
      }
    });
    ws.on("error", (err) => log.warn({ err: err.message, callId: session.callId }, "stream socket error"));
    ws.on("close", () => {
      clearTimeout(startTimer);
      session.onClose();
    });
  }

  /** A lost stream counts as ended only if no newer stream of the call starts within the grace. */
  private grace(streamSid: string, fn: () => Promise<void>): void {
    const t = setTimeout(() => void this.runGrace(streamSid), this.d.cfg.RECONNECT_GRACE_MS);
    this.graces.set(streamSid, { t, fn });
  }

  private async runGrace(streamSid: string): Promise<void> {
    const g = this.graces.get(streamSid);
    if (!g) return;
    clearTimeout(g.t);
    this.graces.delete(streamSid);
    await g.fn().catch((err) => this.d.log.warn({ err: (err as Error).message }, "stream grace report failed"));
  }

  /** Stop taking sockets (503), wait up to `timeoutMs` for calls to end, then close the rest with 1001. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.byCall.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await Promise.all(
      [...this.sessions].map((s) =>
        s.state === "live" ? s.drain() : (close(s.ws, 1001, "worker draining"), undefined),
      ),
    );
  }

  /** Crash-like stop: drop every socket with no events and no lease release. */
  kill(): void {
    this.draining = true;
    for (const s of [...this.sessions]) s.kill();
    for (const g of this.graces.values()) clearTimeout(g.t);
    this.graces.clear();
    this.wss.close();
  }

  /** Shutdown: report lost streams still in their grace now, then stop the WebSocket server. */
  async close(): Promise<void> {
    await Promise.all([...this.graces.keys()].map((sid) => this.runGrace(sid)));
    this.wss.close();
  }
}

function close(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.OPEN) ws.close(code, reason);
  else if (ws.readyState === ws.CONNECTING) ws.terminate();
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** Behind Caddy the client is the last X-Forwarded-For hop (the one Caddy added); else the peer. */
function clientAddress(req: IncomingMessage): string {
  const xff = req.headers["x-forwarded-for"];
  const last = (Array.isArray(xff) ? xff.join(",") : (xff ?? "")).split(",").pop()?.trim();
  return last || req.socket.remoteAddress || "unknown";
}
