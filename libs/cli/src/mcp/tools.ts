import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ApiClient } from "../api";

const callId = z.string().min(1).max(64).describe("the callId place_call returned");

/** A tool's answer as JSON text; failures (unknown call, ended call, bad number) as tool errors, never crashes. */
async function run(fn: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return { content: [{ type: "text", text: JSON.stringify(await fn()) }] };
  } catch (err) {
    return { isError: true, content: [{ type: "text", text: (err as Error).message }] };
  }
}

const path = (id: string, tail = "") => `/api/calls/${encodeURIComponent(id)}${tail}`;

/**
 * The voicecall tools for AI agents, over the gateway's HTTP API (so the MCP server needs only
 * API_URL and API_TOKEN): place_call, continue_call, speak, end_call, get_call.
 */
export function voicecallMcpServer(api: ApiClient, version = "0.1.0"): McpServer {
  const s = new McpServer({ name: "voicecall", version });
  s.registerTool(
    "place_call",
    {
      description:
        "Place a phone call. mode conversation (default): a two-way call; notify: say `message` and hang up. " +
        "With agentReplies false (default) the phone agent only speaks what you send (continue_call, speak); true lets it converse on its own following `instructions`.",
      inputSchema: {
        to: z.string().describe("E.164 number, e.g. +14155550123"),
        mode: z.enum(["conversation", "notify"]).default("conversation"),
        greeting: z.string().min(1).max(1000).optional().describe("said when the call is answered"),
        message: z.string().min(1).max(2000).optional().describe("notify mode: what to say before hanging up"),
        instructions: z
          .string()
          .min(1)
          .max(8000)
          .optional()
          .describe("system prompt for the phone agent when it converses on its own"),
        agentReplies: z.boolean().default(false),
      },
    },
    async (a) =>
      run(() =>
        api.request("POST", "/api/calls", {
          to: a.to,
          mode: a.mode,
          ...(a.greeting ? { greeting: a.greeting } : {}),
          ...(a.message ? { message: a.message } : {}),
          agent: { replies: a.agentReplies, ...(a.instructions ? { systemPrompt: a.instructions } : {}) },
        }),
      ),
  );
  s.registerTool(
    "continue_call",
    {
      description:
        "Say `text` on the call, then wait for the caller's answer: returns {answered, text} or {answered:false, timedOut:true}. An ended call is an error.",
      inputSchema: {
        callId,
        text: z.string().min(1).max(2000),
        timeoutSeconds: z.number().int().min(1).max(300).default(30),
      },
    },
    async (a) =>
      run(() => api.request("POST", path(a.callId, "/continue"), { text: a.text, timeoutMs: a.timeoutSeconds * 1000 })),
  );
  s.registerTool(
    "speak",
    {
      description: "Say `text` on the call without waiting for an answer.",
      inputSchema: { callId, text: z.string().min(1).max(2000) },
    },
    async (a) => run(() => api.request("POST", path(a.callId, "/say"), { text: a.text })),
  );
  s.registerTool("end_call", { description: "Hang up the call.", inputSchema: { callId } }, async (a) =>
    run(() => api.request("POST", path(a.callId, "/hangup"))),
  );
  s.registerTool(
    "get_call",
    { description: "The call's state, end reason and transcript (both sides).", inputSchema: { callId } },
    async (a) =>
      run(async () => {
        const r = await api.request<{
          call: { callId: string; state: string; endReason?: string; to: string; from: string };
          transcript: { role: string; text: string; interrupted?: boolean }[];
        }>("GET", path(a.callId));
        return {
          callId: r.call.callId,
          state: r.call.state,
          endReason: r.call.endReason,
          transcript: r.transcript.map((t) => ({
            role: t.role,
            text: t.text,
            ...(t.interrupted ? { interrupted: true } : {}),
          })),
        };
      }),
  );
  return s;
}
