/**
 * `npx tsx bench/socket-writes.ts`: CPU per outbound message on a loopback WebSocket, one write per message
 * (ws's own) against the messages of one tick corked into one write (session.ts `send`), as the playout sends
 * them: a piece of agent audio and its mark (and an utterance's first mark), 100 ms = 800 bytes of mu-law.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import WebSocket, { WebSocketServer } from "ws";
import { markMessage, mediaMessage } from "../services/media/src/twilio-codec";

const sid = "MZ" + "a".repeat(32);
const piece = new Uint8Array(800).fill(0x7e);

async function run(rounds: number, perRound: number, cork: boolean): Promise<number> {
  const wss = new WebSocketServer({ port: 0, perMessageDeflate: false });
  await once(wss, "listening");
  let socket: Duplex | undefined;
  wss.on("upgrade" as never, () => undefined);
  const server = new Promise<WebSocket>((r) => wss.on("connection", (ws, req) => ((socket = req.socket), r(ws))));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
  let got = 0;
  client.on("message", () => got++);
  const ws = await server;
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    if (cork) socket!.cork();
    for (let i = 0; i < perRound; i++) {
      ws.send(mediaMessage(sid, piece));
      ws.send(markMessage(sid, `u1:${r * perRound + i}`));
    }
    if (cork) socket!.uncork();
    await new Promise((res) => setImmediate(res));
  }
  const t = process.cpuUsage(t0);
  while (got < rounds * perRound * 2) await new Promise((res) => setTimeout(res, 5));
  client.close();
  wss.close();
  // The client's receive is in this process too: subtract nothing, compare the two modes on the same work.
  return (t.user + t.system) / (rounds * perRound * 2);
}

for (const perRound of [1, 5]) {
  for (const cork of [false, true, false, true]) {
    const us = await run(20_000 / perRound, perRound, cork);
    console.log(
      `${us.toFixed(2).padStart(7)} µs CPU per message  ${perRound} piece+mark per tick, ${cork ? "corked" : "one write each"}`,
    );
  }
}
