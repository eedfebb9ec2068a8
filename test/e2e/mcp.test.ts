import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  cliEnvFor,
  freePort,
  startProc,
  startVoiceStack,
  waitFor,
  waitForPort,
  type Proc,
  type VoiceStack,
} from "@voicecall/testkit";

/**
 * `voicecall mcp` driven by the official MCP SDK client against the running stack (Caddy TLS, the
 * Twilio simulator): a call placed, continued twice (the caller's words come back), ended; errors as
 * tool errors; the same tools over streamable HTTP behind the API token.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cliMain = resolve(root, "libs/cli/src/main.ts");
let v: VoiceStack;
let client: Client;
let httpProc: Proc | undefined;

beforeAll(async () => {
  v = await startVoiceStack({ env: { SILENCE_REPROMPT_MS: "600000" } });
  client = new Client({ name: "voicecall-test", version: "1.0.0" });
  const env = { ...(process.env as Record<string, string>), ...cliEnvFor(v.stack), LOG_LEVEL: "warn" };
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ["--import", "tsx", cliMain, "mcp"],
      env,
      cwd: root,
      stderr: "pipe",
    }),
  );
}, 120_000);
afterAll(async () => {
  await client?.close().catch(() => undefined);
  await httpProc?.stop(2000);
  await v?.stop();
});

type ToolOut = { isError?: boolean; text: string; json: any };
async function tool(name: string, args: Record<string, unknown>): Promise<ToolOut> {
  const r = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: { type: string; text: string }[];
  };
  const text = r.content.map((c) => c.text).join("\n");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { isError: r.isError, text, json };
}

describe("voicecall mcp", () => {
  it("places a call, continues it twice with the caller's answers, ends it; errors are tool errors", async () => {
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      "continue_call",
      "end_call",
      "get_call",
      "place_call",
      "speak",
    ]);
    const placed = await tool("place_call", { to: "+14155550123", greeting: "Hello, this is Acme Dental." });
    expect(placed.isError).toBeFalsy();
    const callId = placed.json.callId as string;
    const phone = await v.sim.nextCall(20_000);
    await phone.waitForStream(1, 20_000);
    await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 30_000, 100);

    // Each continue: our words are heard, then the caller answers and the tool returns the answer.
    const turn = async (say: string, answer: string) => {
      const before = phone.heard().ms;
      const pending = tool("continue_call", { callId, text: say, timeoutSeconds: 60 });
      await phone.waitForAudio(before + 1200, 30_000);
      await waitFor(
        async () => (await v.store.transcript(callId)).some((t) => t.role === "agent" && t.text === say),
        `"${say}" played`,
        30_000,
        100,
      );
      await phone.say(answer);
      return pending;
    };
    const first = await turn("Would you like an appointment on Tuesday?", "yes please");
    expect(first).toMatchObject({ isError: undefined, json: { callId, answered: true, text: "yes please" } });
    const second = await turn("Is there anything else?", "what are your opening hours");
    expect(second.json).toMatchObject({ answered: true, text: "what are your opening hours" });

    const spoke = await tool("speak", { callId, text: "Thank you, goodbye." });
    expect(spoke.isError).toBeFalsy();
    const got = await tool("get_call", { callId });
    expect(got.json.state).toBe("in-progress");
    // agentReplies false: the phone agent said only what we sent.
    await waitFor(
      async () => (await v.store.transcript(callId)).some((t) => t.text === "Thank you, goodbye."),
      "goodbye played",
      30_000,
      100,
    );
    const lines = (await v.store.transcript(callId)).map((t) => `${t.role}: ${t.text}`);
    expect(lines).toEqual([
      "agent: Hello, this is Acme Dental.",
      "agent: Would you like an appointment on Tuesday?",
      "caller: yes please",
      "agent: Is there anything else?",
      "caller: what are your opening hours",
      "agent: Thank you, goodbye.",
    ]);

    const ended = await tool("end_call", { callId });
    expect(ended.isError).toBeFalsy();
    expect(await phone.waitForEnd(30_000)).toBe("completed");
    await waitFor(
      async () => (await tool("get_call", { callId })).json?.state === "completed",
      "state completed",
      20_000,
      200,
    );

    const afterEnd = await tool("continue_call", { callId, text: "Hello?", timeoutSeconds: 5 });
    expect(afterEnd.isError).toBe(true);
    expect(afterEnd.text).toMatch(/409.*call already ended/);
    const unknown = await tool("get_call", { callId: "no-such-call" });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/404.*no such call/);
    const badNumber = await tool("place_call", { to: "12345" });
    expect(badNumber.isError).toBe(true);
    expect(badNumber.text).toMatch(/400.*"to"/);
    // The server survived all of it.
    expect((await tool("get_call", { callId })).json.transcript).toHaveLength(lines.length);
  }, 240_000);

  it("serves the same tools over streamable HTTP, only with the API bearer token", async () => {
    const port = await freePort();
    httpProc = startProc(
      process.execPath,
      ["--import", "tsx", cliMain, "mcp", "--http", "--port", String(port)],
      { ...process.env, ...cliEnvFor(v.stack) },
      root,
    );
    await waitForPort(port, "127.0.0.1", 30_000);
    const url = new URL(`http://127.0.0.1:${port}/mcp`);
    const noToken = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: "{}",
    });
    expect(noToken.status).toBe(401);
    const http = new Client({ name: "voicecall-http-test", version: "1.0.0" });
    await http.connect(
      new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { authorization: `Bearer ${v.stack.secrets.API_TOKEN}` } },
      }),
    );
    expect((await http.listTools()).tools).toHaveLength(5);
    const r = (await http.callTool({ name: "get_call", arguments: { callId: "no-such-call" } })) as {
      isError?: boolean;
    };
    expect(r.isError).toBe(true);
    await http.close();
  }, 60_000);
});
