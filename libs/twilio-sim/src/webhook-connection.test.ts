import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendWebhook } from "./webhooks";

// Twilio's webhook connection reuse is undocumented: the simulator opens one connection per webhook.
describe("a simulated webhook's connection", () => {
  const server = createServer((req, res) => {
    seen.push({ socket: sockets.indexOf(req.socket), headers: req.headers });
    req.resume();
    req.on("end", () => res.end("<Response/>"));
  });
  const sockets: unknown[] = [];
  const seen: { socket: number; headers: IncomingHttpHeaders }[] = [];
  let url = "";
  beforeAll(async () => {
    server.on("connection", (s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/voice`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("is new for every webhook of a call and asks to be closed", async () => {
    const o = { authToken: "token" };
    for (const kind of ["voice", "status", "status"] as const) {
      const rec = await sendWebhook(o, kind, "POST", url, { CallSid: "CA1" }, "CA1");
      expect(rec.status).toBe(200);
    }
    expect(seen.map((s) => s.socket)).toEqual([0, 1, 2]);
    expect(seen.every((s) => s.headers.connection === "close")).toBe(true);
  });
});
