import type { Server } from "node:http";
import express from "express";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { safeEqual } from "@voicecall/auth";
import type { ApiClient } from "../api";
import { voicecallMcpServer } from "./tools";

/**
 * MCP over streamable HTTP at `/mcp`, stateless (a server per request), behind the API bearer token:
 * the same token the gateway API wants, compared in constant time.
 */
export function mcpHttpServer(api: ApiClient, token: string, port: number, host: string): Promise<Server> {
  const app = express();
  app.disable("x-powered-by");
  app.use("/mcp", (req, res, next) => {
    const m = /^Bearer (.+)$/.exec(req.get("authorization") ?? "");
    if (!m || !safeEqual(m[1]!, token))
      return void res.status(401).set("www-authenticate", "Bearer").json({ error: "unauthorized" });
    next();
  });
  app.post("/mcp", express.json({ limit: "256kb" }), async (req, res) => {
    const server = voicecallMcpServer(api);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  // Stateless: no server-initiated streams or sessions to end.
  app.all("/mcp", (_req, res) => void res.status(405).set("allow", "POST").json({ error: "method not allowed" }));
  return new Promise((resolve, reject) => {
    const s = app.listen(port, host, () => resolve(s));
    s.once("error", reject);
  });
}
