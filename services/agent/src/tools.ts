import { callToolArgs, type CallToolArgs, type CallToolName } from "@voicecall/contracts";
import type { Logger } from "@voicecall/log";

/** What a tool may do to the call. `afterLast`: once the turn's last sentence was heard (or at once). */
export interface ToolContext {
  afterLast(fn: () => void): void;
  hangup(reason: string): void;
  transfer(to: string): void;
  sendDigits(digits: string): void;
}

type Handlers = { [N in CallToolName]: (args: CallToolArgs<N>, c: ToolContext) => void };

/** One entry per tool of libs/contracts `callTools`; arguments arrive parsed by `callToolArgs`. */
const handlers: Handlers = {
  end_call: (a, c) => c.afterLast(() => c.hangup(a.reason !== undefined ? `agent:${a.reason}` : "agent-end-call")),
  transfer_call: (a, c) => c.afterLast(() => c.transfer(a.to)),
  send_digits: (a, c) => c.sendDigits(a.digits),
};

const isTool = (name: string): name is CallToolName => Object.hasOwn(handlers, name);

/** Run the model's tool call `name`; unknown tools and malformed arguments are logged and ignored. */
export function runTool(name: string, args: Record<string, unknown>, c: ToolContext, log: Logger): void {
  if (!isTool(name)) return void log.warn({ tool: name.slice(0, 40) }, "unknown tool call ignored");
  const parsed = callToolArgs[name].safeParse(args);
  if (!parsed.success)
    return void log.warn(
      { tool: name, err: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") },
      "malformed tool call ignored",
    );
  (handlers[name] as (a: unknown, c: ToolContext) => void)(parsed.data, c);
}
