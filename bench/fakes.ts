import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An OpenAI-compatible chat server that answers at once: `POST /v1/chat/completions` streams the
 * reply as SSE deltas (two sentences) and `[DONE]`; `GET /v1/models` answers for the agent's warm-up.
 * "goodbye" in the last user message gets a goodbye reply.
 */
export interface InstantLlm {
  /** e.g. `http://127.0.0.1:PORT/v1` (LLM_BASE_URL). */
  url: string;
  requests: number;
  close(): Promise<void>;
}

export const LLM_REPLY = [
  "We are open Monday to Friday from nine to six.",
  " Is there anything else I can help you with today?",
];

export async function startInstantLlm(): Promise<InstantLlm> {
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && req.url?.startsWith("/v1/models")) {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ object: "list", data: [{ id: "bench", object: "model" }] }));
      return;
    }
    if (req.method !== "POST" || !req.url?.startsWith("/v1/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.requests++;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      const delta = (content: string) =>
        `data: ${JSON.stringify({ id: "bench", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
      res.write(delta(""));
      for (const part of LLM_REPLY) res.write(delta(part));
      res.write(
        `data: ${JSON.stringify({ id: "bench", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`,
      );
      res.end("data: [DONE]\n\n");
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
