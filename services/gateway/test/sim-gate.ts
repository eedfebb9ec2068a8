/**
 * Test-only: a proxy between the Twilio simulator and the gateway. It forwards Twilio's requests, holds
 * those `hold` picks until released, answers those `drop` picks itself (a callback lost on the way),
 * and keeps every answer the gateway gave. Stream upgrades are refused (no media worker behind it), as a
 * media worker refuses a handshake whose signature does not match.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { startSimulator, type SimulatorOptions } from "@voicecall/twilio-sim";

export interface GatedRequest {
  path: string;
  token?: string;
  body: string;
}

export function twilioGate(target: () => string) {
  const held: (() => void)[] = [];
  const answers: { req: GatedRequest; status: number; body: string }[] = [];
  let port = 0;
  let hold: (r: GatedRequest) => boolean = () => false;
  let drop: (r: GatedRequest) => boolean = () => false;
  const forward = (req: IncomingMessage, r: GatedRequest, res: ServerResponse) => {
    const u = new URL(target());
    const f = request(
      { hostname: u.hostname, port: u.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const chunks: Buffer[] = [];
        up.on("data", (c: Buffer) => chunks.push(c));
        up.on("end", () => {
          const body = Buffer.concat(chunks);
          answers.push({ req: r, status: up.statusCode ?? 0, body: body.toString() });
          // The simulator may have given up on this request already (its timeout): the answer is kept, not sent.
          if (!res.destroyed) res.writeHead(up.statusCode ?? 502, up.headers).end(body);
        });
      },
    );
    f.on("error", () => res.writeHead(502).end());
    f.end(r.body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: GatedRequest = {
        path: req.url ?? "",
        token: req.headers["i-twilio-idempotency-token"] as string | undefined,
        body: Buffer.concat(chunks).toString(),
      };
      if (drop(r)) return void res.writeHead(200, { "content-type": "text/xml" }).end("<Response/>");
      if (hold(r)) held.push(() => forward(req, r, res));
      else forward(req, r, res);
    });
  });
  server.on("upgrade", (_req, socket) =>
    socket.end("HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"),
  );
  return {
    server,
    held,
    answers,
    holdWhile(p: (r: GatedRequest) => boolean) {
      hold = p;
    },
    dropWhile(p: (r: GatedRequest) => boolean) {
      drop = p;
    },
    release() {
      hold = () => false;
      for (const f of held.splice(0)) f();
    },
    async listen() {
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      port = (server.address() as AddressInfo).port;
    },
    port: () => port,
    async close() {
      this.release();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * The simulator with every request for the public URL sent through a gate in front of the gateway
 * (signing still uses the public URL); `close` stops both.
 */
export async function startGatedSimulator(
  target: () => string,
  o: { accountSid: string; authToken: string; knobs?: SimulatorOptions["knobs"] },
) {
  const gate = twilioGate(target);
  await gate.listen();
  const sim = await startSimulator({
    ...o,
    route: (u) => new URL(`http://127.0.0.1:${gate.port()}${u.pathname}${u.search}`),
  });
  return {
    gate,
    sim,
    async close() {
      await sim.stop();
      await gate.close();
    },
  };
}
