import { parseArgs } from "node:util";
import type { Ctx } from "./context";
import { callCommand, hangupCommand } from "./commands/call";
import { callsCommand, showCommand } from "./commands/calls";
import { tailCommand } from "./commands/tail";
import { latencyCommand } from "./commands/latency";
import { doctorCommand } from "./commands/doctor";
import { eventsCommand } from "./commands/events";
import { mcpCommand } from "./commands/mcp";

type Command = (ctx: Ctx, args: string[], flags: Record<string, string | boolean>) => Promise<number>;

const commands: Record<string, { run: Command; help: string }> = {
  call: { run: callCommand, help: "call <to> [--mode notify|conversation] [--message text] [--from number]" },
  calls: { run: callsCommand, help: "calls                      active calls" },
  show: { run: showCommand, help: "show <callId|CallSid>      state timeline, owners, transcript" },
  tail: { run: tailCommand, help: "tail [callId] [--json]     live events" },
  hangup: { run: hangupCommand, help: "hangup <callId|CallSid>" },
  latency: { run: latencyCommand, help: "latency [--since 1h]       per-turn latency percentiles" },
  events: { run: eventsCommand, help: "events [resend <id>|--all]  undelivered call events, dead letters, resend" },
  mcp: {
    run: mcpCommand,
    help: "mcp [--http [--port 3100] [--host 127.0.0.1]]  call tools for AI agents (Model Context Protocol)",
  },
  doctor: { run: doctorCommand, help: "doctor [--public-url URL] [--allow-local] [--ca file] [--via host:port]" },
  simulate: {
    run: async (ctx, args, flags) => (await import("./commands/simulate")).simulateCommand(ctx, args, flags),
    help: "simulate [--say text]... [--wav tmp/simulated-call.wav] [--ca file]   a call through the Twilio simulator",
  },
};

const stringFlags = [
  "mode",
  "message",
  "from",
  "since",
  "count",
  "public-url",
  "ca",
  "via",
  "wav",
  "to",
  "api",
  "port",
  "host",
];

export function usage(): string {
  return [
    "usage: voicecall <command> [options]   (add --json for machine output)",
    ...Object.values(commands).map((c) => `  voicecall ${c.help}`),
    "every command trusts the CA in --ca <file> or CADDY_CA (Caddy's local CA) for https and wss",
  ].join("\n");
}

export async function runCli(ctx: Ctx, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      "allow-local": { type: "boolean" },
      ...Object.fromEntries(stringFlags.map((f) => [f, { type: "string" as const }])),
      say: { type: "string", multiple: true },
    },
  });
  const [name, ...args] = positionals;
  if (values.help || name === "help") {
    ctx.out(usage());
    return 0;
  }
  if (!name) {
    ctx.err(usage());
    return 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    ctx.err(`unknown command ${name}\n${usage()}`);
    return 2;
  }
  if (typeof values.ca === "string") ctx.caFile = values.ca;
  try {
    ctx.ca(); // a CA file that cannot be read fails here, once, naming where it came from
  } catch (err) {
    return ctx.fail((err as Error).message);
  }
  return cmd.run(ctx, args, values as Record<string, string | boolean>);
}
