import type { AddressInfo } from "node:net";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Ctx } from "../context";
import { mcpHttpServer } from "../mcp/http";
import { voicecallMcpServer } from "../mcp/tools";

/**
 * `voicecall mcp`: the call tools as a Model Context Protocol server, on stdio (default: stdout is
 * the protocol, so nothing else is printed there) or `--http [--port 3100] [--host 127.0.0.1]`.
 */
export async function mcpCommand(ctx: Ctx, _args: string[], flags: Record<string, string | boolean>): Promise<number> {
  const token = ctx.config.API_TOKEN;
  if (!token)
    return ctx.fail(
      "config: API_TOKEN is unset: the MCP server calls the gateway API with it (and --http clients must send it)",
    );
  const done = new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
  if (flags.http) {
    const port = Number(flags.port ?? 3100);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      return ctx.fail(`--port ${String(flags.port)} is not a port`);
    const server = await mcpHttpServer(ctx.api, token, port, typeof flags.host === "string" ? flags.host : "127.0.0.1");
    ctx.err(
      `voicecall MCP (streamable HTTP) on http://${typeof flags.host === "string" ? flags.host : "127.0.0.1"}:${(server.address() as AddressInfo).port}/mcp`,
    );
    await done;
    await new Promise<void>((r) => server.close(() => r()));
    return 0;
  }
  const server = voicecallMcpServer(ctx.api);
  const transport = new StdioServerTransport();
  // The protocol layer owns transport.onclose; its own onclose fires after.
  const closed = new Promise<void>((resolve) => (server.server.onclose = () => resolve()));
  process.stdin.once("end", () => void transport.close());
  await server.connect(transport);
  await Promise.race([done, closed]);
  await server.close();
  return 0;
}
