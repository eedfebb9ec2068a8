import { CallEvent, LifecycleEvent, subjects } from "@voicecall/contracts";
import type { Ctx } from "../context";
import { iso } from "../format";

/** One human line per event; values that matter for that type only. */
export function describeEvent(e: CallEvent | LifecycleEvent): string {
  const head = `${iso(e.ts)} ${e.callId.slice(0, 12).padEnd(12)} ${e.type.padEnd(18)}`;
  const { type: _t, v: _v, callId: _c, ts: _ts, ...rest } = e as Record<string, unknown>;
  const body = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : v}`)
    .join(" ");
  return `${head} ${body}`;
}

/** `voicecall tail [callId] [--json] [--count N]`: live events from NATS until Ctrl-C. */
export async function tailCommand(ctx: Ctx, args: string[], flags: Record<string, string | boolean>): Promise<number> {
  const bus = await ctx.bus();
  const callId = args[0] ? ((await ctx.resolveCallId(args[0]).catch(() => null)) ?? args[0]) : undefined;
  const max = flags.count ? Number(flags.count) : Infinity;
  let seen = 0;
  return new Promise<number>((resolve) => {
    let finished = false;
    const done = (code = 0) => {
      finished = true;
      resolve(code);
    };
    // Say in words what happens to the event stream, instead of leaving the terminal silent.
    void (async () => {
      for await (const st of bus.nc.status()) {
        if (finished) return;
        if (st.type === "disconnect")
          ctx.err(`tail: lost the NATS connection (${ctx.config.NATS_URL}); reconnecting, events meanwhile are missed`);
        if (st.type === "reconnect") ctx.err("tail: NATS connection back; following events again");
      }
    })();
    void bus.nc.closed().then((err) => {
      if (finished) return;
      ctx.err(`tail: the NATS connection closed${err ? ` (${err.message})` : ""}; no more events`);
      done(1);
    });
    const show = (e: CallEvent | LifecycleEvent) => {
      ctx.out(flags.json ? JSON.stringify(e) : describeEvent(e));
      if (++seen >= max) done();
    };
    bus.subscribe(callId ? subjects.evt(callId) : subjects.allEvt, CallEvent, show);
    if (!callId) bus.subscribe(subjects.lifecycle, LifecycleEvent, show);
    ctx.signal.addEventListener("abort", () => done(0));
    if (flags.ready) void bus.flush().then(() => ctx.err("tailing"));
  });
}
