import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { startSimulator, type Phone } from "@voicecall/twilio-sim";
import type { Ctx } from "../context";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the caller has heard something and then `quietMs` of nothing new (the agent finished). */
async function waitForTurn(phone: Phone, quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const start = phone.heard().ms;
  let last = start;
  let stableSince = Date.now();
  while (Date.now() < deadline && phone.status === "in-progress") {
    await sleep(100);
    const now = phone.heard().ms + phone.queuedMs();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (last > start && Date.now() - stableSince >= quietMs && phone.queuedMs() === 0) return;
  }
}

/**
 * `voicecall simulate [--say text]... [--from +1…] [--to +1…] [--wav tmp/simulated-call.wav] [--ca caddy-root.crt]`
 * An inbound call from the Twilio simulator to the running stack's public webhook (signed with
 * TWILIO_AUTH_TOKEN, so the stack must allow inbound calls from `--from`): hears the greeting, says
 * each `--say`, prints both sides of the conversation and saves what the caller heard. TLS trusts
 * `--ca` or CADDY_CA. Progress is printed as it happens: a rehearsal takes tens of seconds.
 */
export async function simulateCommand(
  ctx: Ctx,
  _args: string[],
  flags: Record<string, string | boolean>,
): Promise<number> {
  const { PUBLIC_URL: pub, TWILIO_AUTH_TOKEN: token, TWILIO_ACCOUNT_SID: sid } = ctx.config;
  if (!pub || !token) return ctx.fail("simulate needs PUBLIC_URL and TWILIO_AUTH_TOKEN (the stack's .env)");
  const says = ([] as string[]).concat((flags.say as string | string[] | undefined) ?? []);
  const ca = ctx.ca();
  const sim = await startSimulator({ accountSid: sid, authToken: token, ca, knobs: { webhookTimeoutMs: 15_000 } });
  try {
    const from = (flags.from as string) ?? "+15005550001";
    const to = (flags.to as string) ?? ctx.config.TWILIO_FROM_NUMBER ?? "+15005550006";
    ctx.out(`calling ${pub}/voice/webhook from ${from} to ${to}`);
    const phone = await sim.incoming({ from, to, url: `${pub}/voice/webhook` });
    const stream = await phone.waitForStream(1, 20_000).catch(() => undefined);
    if (!stream || phone.status !== "in-progress") {
      const said = phone
        .heard()
        .sayTexts.map((t) => t.text)
        .join(" ");
      const failed = phone.requests().find((r) => r.errorCode);
      const tls = failed?.error && /certificate|self.signed|issuer/i.test(failed.error);
      await phone.waitForEnd(5_000).catch(() => undefined);
      const why = failed
        ? ` (Twilio error ${failed.errorCode}: ${failed.error})`
        : said
          ? ` (Twilio said: "${said}")`
          : "";
      const fix = tls
        ? `the public URL's certificate is not trusted here: pass --ca <Caddy's root.crt> or set CADDY_CA`
        : "see `voicecall doctor`";
      return ctx.fail(`no stream: the call ended ${phone.status}${why}; ${fix}`);
    }
    ctx.out(`answered: stream open (${phone.sid}); listening to the greeting…`);
    let heardMs = 0;
    const progress = (what: string) => {
      const ms = phone.heard().ms;
      ctx.out(`${what}: heard ${((ms - heardMs) / 1000).toFixed(1)} s of agent audio`);
      heardMs = ms;
    };
    await waitForTurn(phone, 1200, 30_000);
    progress("greeting");
    for (const text of says) {
      ctx.out(`caller: ${text}`);
      await phone.say(text);
      await waitForTurn(phone, 1200, 30_000);
      progress("reply");
    }
    ctx.out("hanging up…");
    await phone.hangup();
    await phone.waitForEnd(15_000).catch(() => undefined);
    const heard = phone.heard();
    const callId = await (await ctx.store()).callIdBySid(phone.sid);
    const lines = callId ? await (await ctx.store()).transcript(callId) : [];
    ctx.out(
      `\nheard ${(heard.ms / 1000).toFixed(1)} s of agent audio in ${heard.segments.length} segments; call ${callId ?? "?"} (${phone.sid})`,
    );
    for (const l of lines) ctx.out(`${l.role.padEnd(6)} ${l.text}${l.interrupted ? "  [interrupted]" : ""}`);
    // Under tmp/ (git-ignored), never loose in the working directory.
    const wav = (flags.wav as string) ?? "tmp/simulated-call.wav";
    mkdirSync(dirname(wav), { recursive: true });
    writeFileSync(wav, phone.heardWav(true));
    ctx.out(`saved what the caller heard to ${wav}`);
    return heard.ms > 0 ? 0 : 1;
  } finally {
    await sim.stop();
  }
}
