import { ApiError } from "../api";
import type { Ctx } from "../context";

/** `voicecall call <to> [--mode notify|conversation] [--message text] [--from +1...]` */
export async function callCommand(ctx: Ctx, args: string[], flags: Record<string, string | boolean>): Promise<number> {
  const to = args[0];
  if (!to) return ctx.fail("usage: voicecall call <to> [--mode notify|conversation] [--message text]");
  const mode = (flags.mode as string) ?? "conversation";
  const message = flags.message as string | undefined;
  const body = {
    to,
    mode,
    ...(flags.from ? { from: flags.from } : {}),
    ...(mode === "notify"
      ? { message: message ?? "This is a notification from voicecall." }
      : message
        ? { greeting: message }
        : {}),
  };
  const r = await ctx.api.request<{ callId: string }>("POST", "/api/calls", body);
  ctx.out(flags.json ? JSON.stringify(r) : `call ${r.callId} queued to ${to} (${mode})`);
  return 0;
}

export async function hangupCommand(ctx: Ctx, args: string[]): Promise<number> {
  const id = args[0];
  if (!id) return ctx.fail("usage: voicecall hangup <callId|CallSid>");
  const callId = (await ctx.resolveCallId(id)) ?? id;
  try {
    await ctx.api.request("POST", `/api/calls/${encodeURIComponent(callId)}/hangup`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const b = err.body ?? {};
    // What the hang-up wanted is already true: say so, and succeed.
    if (err.status === 409) {
      ctx.out(`call ${callId} had already ended (${String(b.state ?? "ended")})`);
      return 0;
    }
    if (err.status === 404) return ctx.fail(`no call ${id}`);
    // 502/503: Twilio refused or could not be reached; the gateway names why.
    if (typeof b.error !== "string") throw err;
    ctx.err(
      `hangup of ${callId} failed (${err.status}): ${b.error}${typeof b.reason === "string" && !b.error.includes(b.reason) ? ` (${b.reason})` : ""}`,
    );
    return 1;
  }
  ctx.out(`hangup requested for ${callId}`);
  return 0;
}
