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
    ...(mode === "notify" ? { message: message ?? "This is a notification from voicecall." } : message ? { greeting: message } : {}),
  };
  const r = await ctx.api.request<{ callId: string }>("POST", "/api/calls", body);
  ctx.out(flags.json ? JSON.stringify(r) : `call ${r.callId} queued to ${to} (${mode})`);
  return 0;
}

export async function hangupCommand(ctx: Ctx, args: string[]): Promise<number> {
  const id = args[0];
  if (!id) return ctx.fail("usage: voicecall hangup <callId|CallSid>");
  const callId = (await ctx.resolveCallId(id)) ?? id;
  await ctx.api.request("POST", `/api/calls/${encodeURIComponent(callId)}/hangup`);
  ctx.out(`hangup requested for ${callId}`);
  return 0;
}
