/** `voicecall hangup` reads each answer the gateway gives a hang-up (202, 409, 404, 502/503) as it means. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServers, type Servers } from "@voicecall/testkit";
import { cliConfig } from "./config";
import { Ctx } from "./context";
import { runCli } from "./run";

let s: Servers;
let api: Server;
const seen: string[] = [];
/** The gateway's answers, by call id (as calls-api.ts gives them). */
const answers: Record<string, [number, unknown]> = {
  live: [202, { callId: "live" }],
  ended: [409, { error: "call already ended", state: "completed" }],
  missing: [404, { error: "no such call" }],
  down: [503, { error: "twilio unreachable", reason: "connect ECONNREFUSED 127.0.0.1:443", callId: "down" }],
  refused: [
    502,
    {
      error: "twilio rejected: 20003 Authenticate",
      reason: "Authenticate",
      code: 20003,
      twilioStatus: 401,
      callId: "refused",
    },
  ],
};

beforeAll(async () => {
  s = await startServers();
  api = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const id = /^\/api\/calls\/([^/]+)\/hangup$/.exec(req.url ?? "")?.[1] ?? "";
    const [status, body] = answers[id] ?? [500, { error: "internal error" }];
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
});
afterAll(async () => {
  api?.close();
  await s?.stop();
});

async function hangup(id: string) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx = new Ctx(
    cliConfig({
      REDIS_URL: s.redisUrl,
      NATS_URL: s.natsUrl,
      API_TOKEN: "t",
      API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    }),
    (l) => out.push(l),
    (l) => err.push(l),
    new AbortController().signal,
  );
  try {
    return { code: await runCli(ctx, ["hangup", id]), out: out.join("\n"), err: err.join("\n") };
  } finally {
    await ctx.close();
  }
}

describe("voicecall hangup", () => {
  it("202: requested", async () => {
    expect(await hangup("live")).toEqual({ code: 0, out: "hangup requested for live", err: "" });
    expect(seen).toContain("POST /api/calls/live/hangup");
  });
  it("409: the call had already ended, which is what was wanted (exit 0, the state named)", async () => {
    expect(await hangup("ended")).toEqual({ code: 0, out: "call ended had already ended (completed)", err: "" });
  });
  it("404: no such call (exit 2)", async () => {
    expect(await hangup("missing")).toMatchObject({ code: 2, err: "no call missing" });
  });
  it("503 and 502: one line with the gateway's reason (exit 1)", async () => {
    expect(await hangup("down")).toMatchObject({
      code: 1,
      err: "hangup of down failed (503): twilio unreachable (connect ECONNREFUSED 127.0.0.1:443)",
    });
    expect(await hangup("refused")).toMatchObject({
      code: 1,
      err: "hangup of refused failed (502): twilio rejected: 20003 Authenticate",
    });
  });
  it("any other error answer: the same one line, with its status", async () => {
    expect(await hangup("other")).toMatchObject({ code: 1, err: "hangup of other failed (500): internal error" });
  });
});
