import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testLogger } from "@voicecall/testkit";
import { OpenAiModel, WARM_WINDOW_MS } from "./openai";
import { resilient } from "./resilient";
import { agentTools } from "./tools";
import type { LlmChunk } from "./types";

/** A local server speaking the OpenAI streaming chat-completions wire protocol. */
let server: Server;
let base = "";
const seen: { auth?: string; body: any }[] = [];
let failNext = 0;
let modelsHits = 0;

const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

beforeAll(async () => {
  const app = express();
  app.use(express.json());
  app.get("/v1/models", (_req, res) => {
    modelsHits++;
    res.json({ data: [{ id: "test-model" }] });
  });
  app.post("/v1/chat/completions", async (req, res) => {
    seen.push({ auth: req.header("authorization"), body: req.body });
    if (failNext > 0) {
      failNext--;
      res.status(503).json({ error: { message: "overloaded" } });
      return;
    }
    const last = req.body.messages.at(-1).content as string;
    if (last === "hang") return; // never answers
    res.setHeader("content-type", "text/event-stream");
    if (last === "stall") {
      res.write(chunk({ content: "Half a " }));
      return; // then nothing
    }
    const parts: string[] = [chunk({ role: "assistant", content: "" })];
    if (last.includes("transfer")) {
      parts.push(chunk({ content: "Putting you through." }));
      parts.push(
        chunk({
          tool_calls: [
            { index: 0, id: "call_1", type: "function", function: { name: "transfer_call", arguments: "" } },
          ],
        }),
      );
      parts.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"to":' } }] }));
      parts.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"+14155550100"}' } }] }));
      parts.push(
        chunk({
          tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "end_call", arguments: "{}" } }],
        }),
      );
      parts.push(chunk({}, "tool_calls"));
    } else {
      for (const t of ["We ", "open at ", "nine.", " Anything ", "else?"]) parts.push(chunk({ content: t }));
      parts.push(chunk({}, "stop"));
    }
    parts.push("data: [DONE]\n\n");
    for (const p of parts) {
      res.write(p);
      await new Promise((r) => setTimeout(r, 2));
    }
    res.end();
  });
  server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(
  () =>
    new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
);

async function collect(it: AsyncIterable<LlmChunk>): Promise<LlmChunk[]> {
  const out: LlmChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("OpenAiModel against a local SSE server", () => {
  it("streams text deltas and sends model, messages, tools and the key", async () => {
    const m = new OpenAiModel({ baseUrl: base, model: "test-model", apiKey: "sk-test" });
    const out = await collect(
      m.chat({
        messages: [{ role: "user", content: "when are you open" }],
        tools: agentTools,
        signal: new AbortController().signal,
      }),
    );
    expect(out.map((c) => (c.type === "text" ? c.text : "")).join("")).toBe("We open at nine. Anything else?");
    const req = seen.at(-1)!;
    expect(req.auth).toBe("Bearer sk-test");
    expect(req.body).toMatchObject({
      model: "test-model",
      stream: true,
      messages: [{ role: "user", content: "when are you open" }],
    });
    expect(req.body.tools.map((t: any) => t.function.name)).toEqual(["end_call", "transfer_call", "send_digits"]);
  });

  it("assembles streamed tool-call deltas into whole calls, in index order", async () => {
    const m = new OpenAiModel({ baseUrl: base, model: "test-model" });
    const out = await collect(
      m.chat({
        messages: [{ role: "user", content: "transfer me" }],
        tools: agentTools,
        signal: new AbortController().signal,
      }),
    );
    expect(out).toEqual([
      { type: "text", text: "Putting you through." },
      { type: "tool_call", name: "transfer_call", args: { to: "+14155550100" } },
      { type: "tool_call", name: "end_call", args: {} },
    ]);
    expect(seen.at(-1)!.auth).toBeUndefined();
  });

  it("warms up once per window: a connection answered within it is still in the pool", async () => {
    let t = 1_000_000;
    const m = new OpenAiModel({ baseUrl: base, model: "test-model", now: () => t });
    const hits = modelsHits;
    await m.warmup!();
    t += WARM_WINDOW_MS - 1;
    await m.warmup!();
    expect(modelsHits - hits).toBe(1);
    t += 1;
    await m.warmup!();
    expect(modelsHits - hits).toBe(2);
  });

  it("retries a 503 before anything streamed (resilient wrapper) and warms up", async () => {
    const { log } = testLogger("agent");
    const m = resilient(new OpenAiModel({ baseUrl: base, model: "test-model" }), { timeoutMs: 5000, retries: 2, log });
    await m.warmup!();
    expect(modelsHits).toBeGreaterThan(0);
    failNext = 1;
    const before = seen.length;
    const out = await collect(
      m.chat({ messages: [{ role: "user", content: "hours" }], tools: [], signal: new AbortController().signal }),
    );
    expect(seen.length - before).toBe(2);
    expect(out.length).toBeGreaterThan(0);
  });

  it("gives up on a non-retryable status", async () => {
    const { log } = testLogger("agent");
    const m = resilient(new OpenAiModel({ baseUrl: base.replace("/v1", "/nope"), model: "x" }), {
      timeoutMs: 5000,
      retries: 2,
      log,
    });
    await expect(
      collect(m.chat({ messages: [{ role: "user", content: "hi" }], tools: [], signal: new AbortController().signal })),
    ).rejects.toThrow(/HTTP 404/);
  });

  it("times out a silent server (retrying first) and a stream that stalls midway (no retry)", async () => {
    const { log } = testLogger("agent");
    const m = resilient(new OpenAiModel({ baseUrl: base, model: "test-model" }), { timeoutMs: 200, retries: 1, log });
    const before = seen.length;
    await expect(
      collect(
        m.chat({ messages: [{ role: "user", content: "hang" }], tools: [], signal: new AbortController().signal }),
      ),
    ).rejects.toThrow(/timeout/);
    expect(seen.length - before).toBe(2);
    const got: LlmChunk[] = [];
    const run = async () => {
      for await (const c of m.chat({
        messages: [{ role: "user", content: "stall" }],
        tools: [],
        signal: new AbortController().signal,
      }))
        got.push(c);
    };
    await expect(run()).rejects.toThrow(/timeout/);
    expect(got).toEqual([{ type: "text", text: "Half a " }]);
    expect(seen.length - before).toBe(3);
  });
});
