import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { freePort } from "@voicecall/testkit";

/** How an outside service fails: nobody listening, listening but never answering, or an HTTP error. */
export type FailMode = "refused" | "timeout" | "401" | "500";
export const FAIL_MODES: readonly FailMode[] = ["refused", "timeout", "401", "500"];

export interface UpstreamOptions {
  /** The error body the vendor sends for `status`, given the request (vendors that echo the key they got do it here). */
  errorBody(status: 401 | 500, req: IncomingMessage): unknown;
  /** `pass` mode: forward to this origin (e.g. the Twilio simulator). */
  passTo?: () => string;
}

/**
 * One outside HTTP/WebSocket service (Twilio REST, a TTS vendor, an LLM server, Deepgram) on a fixed
 * loopback port that fails the way it is told to, or forwards (`pass`). WebSocket upgrades get the same
 * treatment as requests: an HTTP error answer, silence, or a closed port.
 */
export class FailingUpstream {
  mode: FailMode | "pass" = "pass";
  private server: Server | undefined;
  private readonly held = new Set<Socket | Duplex>();
  /** Requests seen, by mode (what each client actually sent). */
  readonly seen: { mode: string; method: string; url: string }[] = [];

  private constructor(
    readonly port: number,
    private readonly o: UpstreamOptions,
  ) {}

  static async start(o: UpstreamOptions): Promise<FailingUpstream> {
    const u = new FailingUpstream(await freePort(), o);
    await u.listen();
    return u;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async set(mode: FailMode | "pass"): Promise<void> {
    this.mode = mode;
    for (const s of this.held) s.destroy();
    this.held.clear();
    if (mode === "refused") await this.close();
    else if (!this.server) await this.listen();
  }

  async stop(): Promise<void> {
    for (const s of this.held) s.destroy();
    await this.close();
  }

  private listen(): Promise<void> {
    const server = createServer((req, res) => this.onRequest(req, res));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex) => this.onUpgrade(req, socket));
    server.on("connection", (s) => {
      this.held.add(s);
      s.once("close", () => this.held.delete(s));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  private close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return Promise.resolve();
    s.closeAllConnections();
    return new Promise((resolve) => s.close(() => resolve()));
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.seen.push({ mode: this.mode, method: req.method ?? "", url: req.url ?? "" });
    if (this.mode === "timeout") return void req.resume(); // read the body, never answer
    if (this.mode === "401" || this.mode === "500") {
      const status = this.mode === "401" ? 401 : 500;
      req.resume();
      req.once("end", () =>
        res
          .writeHead(status, { "content-type": "application/json" })
          .end(JSON.stringify(this.o.errorBody(status, req))),
      );
      return;
    }
    const to = this.o.passTo?.();
    if (!to) return void res.writeHead(404).end();
    const up = request(
      to + req.url,
      { method: req.method, headers: { ...req.headers, host: new URL(to).host } },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex): void {
    this.seen.push({ mode: this.mode, method: "UPGRADE", url: req.url ?? "" });
    this.held.add(socket);
    socket.on("error", () => undefined);
    if (this.mode === "timeout") return;
    const status = this.mode === "401" ? 401 : 500;
    const body = JSON.stringify(this.o.errorBody(status, req));
    socket.end(
      `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : "Internal Server Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
}
