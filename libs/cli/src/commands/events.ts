import type { Ctx } from "../context";
import { ago, iso, table } from "../format";

interface EventsView {
  pending: { callId: string; dueAt: number }[];
  dead: {
    id: string;
    callId: string;
    eventId: string;
    type: string;
    url: string;
    attempts: number;
    error: string;
    ts: number;
  }[];
}
interface Resent {
  id: string;
  delivered: boolean;
  error?: string;
}

const USAGE = "usage: voicecall events [resend <deadId>|resend --all]";

/**
 * `voicecall events`: calls with events still to deliver, and the dead-letter list.
 * `voicecall events resend <id>` / `--all`: deliver dead letters again now (through the gateway, which signs).
 */
export async function eventsCommand(
  ctx: Ctx,
  args: string[],
  flags: Record<string, string | boolean>,
): Promise<number> {
  const [sub, id] = args;
  if (sub === undefined) {
    const v = await ctx.api.request<EventsView>("GET", "/api/events");
    if (flags.json) return (void ctx.out(JSON.stringify(v)), 0);
    ctx.out(`pending: ${v.pending.length} call(s) with events to deliver`);
    if (v.pending.length)
      ctx.out(
        table(
          v.pending.map((p) => ({
            callId: p.callId,
            next: p.dueAt <= Date.now() ? "now" : `in ${ago(Date.now(), p.dueAt)}`,
          })),
          ["callId", "next"],
        ),
      );
    ctx.out(`\ndead letters: ${v.dead.length}`);
    if (v.dead.length)
      ctx.out(
        table(
          v.dead.map((d) => ({
            id: d.id,
            at: iso(d.ts),
            callId: d.callId,
            type: d.type,
            attempts: d.attempts,
            error: d.error,
            url: d.url,
          })),
          ["id", "at", "callId", "type", "attempts", "error", "url"],
        ),
      );
    return 0;
  }
  if (sub !== "resend" || (!id && flags.all !== true)) return ctx.fail(USAGE);
  const results = id
    ? [
        await ctx.api
          .request<Resent>("POST", `/api/events/dead/${encodeURIComponent(id)}/resend`)
          .catch((err: Error) => ({ id, delivered: false, error: err.message })),
      ]
    : (
        await ctx.api
          .request<{ results: Resent[] }>("POST", "/api/events/dead/resend")
          .catch((err: Error) => ({ results: [{ id: "all", delivered: false, error: err.message }] }))
      ).results;
  if (flags.json) ctx.out(JSON.stringify({ results }));
  else for (const r of results) ctx.out(r.delivered ? `${r.id} delivered` : `${r.id} not delivered: ${r.error}`);
  if (!id && results.length === 0 && !flags.json) ctx.out("no dead letters");
  return results.every((r) => r.delivered) ? 0 : 1;
}
