import type { Ctx } from "../context";
import { ago, iso, table } from "../format";

/** `voicecall calls`: active calls from Redis, newest first. */
export async function callsCommand(
  ctx: Ctx,
  _args: string[],
  flags: Record<string, string | boolean>,
): Promise<number> {
  const store = await ctx.store();
  const ids = await store.activeCallIds();
  const recs = (await Promise.all(ids.map((id) => store.getCall(id)))).filter((r) => r !== null);
  recs.sort((a, b) => b.createdAt - a.createdAt);
  if (flags.json) {
    ctx.out(JSON.stringify(recs));
    return 0;
  }
  ctx.out(
    table(
      recs.map((r) => ({
        callId: r.callId,
        state: r.state,
        dir: r.direction,
        mode: r.mode,
        to: r.to,
        from: r.from,
        age: ago(r.createdAt),
        media: r.mediaOwner,
        agent: r.agentOwner,
      })),
      ["callId", "state", "dir", "mode", "to", "from", "age", "media", "agent"],
    ),
  );
  return 0;
}

/** `voicecall show <callId|CallSid>`: record, state timeline, transcript. */
export async function showCommand(ctx: Ctx, args: string[], flags: Record<string, string | boolean>): Promise<number> {
  const id = args[0];
  if (!id) return ctx.fail("usage: voicecall show <callId|CallSid>");
  const store = await ctx.store();
  let callId: string;
  try {
    callId = (await ctx.resolveCallId(id)) ?? id;
  } catch (err) {
    return ctx.fail((err as Error).message);
  }
  const rec = await store.getCall(callId);
  if (!rec) return ctx.fail(`no call ${id} (ended calls are kept for CALL_RETENTION_MS)`);
  const [timeline, transcript] = await Promise.all([store.timeline(callId), store.transcript(callId)]);
  if (flags.json) {
    ctx.out(JSON.stringify({ call: rec, timeline, transcript }));
    return 0;
  }
  ctx.out(`call ${rec.callId}  ${rec.direction} ${rec.mode}  ${rec.from} → ${rec.to}`);
  ctx.out(
    `state ${rec.state}${rec.endReason ? ` (${rec.endReason})` : ""}  callSid ${rec.callSid ?? "-"}  streams ${rec.streamCount}`,
  );
  ctx.out(
    `owners  media ${rec.mediaOwner ?? "-"}  agent ${rec.agentOwner ?? "-"}  greeting played: ${rec.greetingPlayed ? "yes" : "no"}`,
  );
  ctx.out("\ntimeline");
  ctx.out(
    table(
      timeline.map((t) => ({ at: iso(t.ts), state: t.state, from: t.prev, source: t.source, reason: t.reason })),
      ["at", "state", "from", "source", "reason"],
    ),
  );
  ctx.out("\ntranscript");
  ctx.out(
    transcript.length
      ? transcript
          .map((t) => `${iso(t.ts)}  ${t.role.padEnd(6)} ${t.text}${t.interrupted ? "  [interrupted]" : ""}`)
          .join("\n")
      : "(empty)",
  );
  return 0;
}
