import { lookup } from "node:dns/promises";
import { twilioSignature } from "@voicecall/auth";
import type { Ctx } from "../context";
import { parseVia, post, tlsProbe, upgrade, type Reach } from "./doctor-probe";

export type Check = { ok: boolean | "warn"; name: string; detail: string; fix?: string };

const privateHost = (h: string) =>
  h === "localhost" ||
  /^127\./.test(h) ||
  /^10\./.test(h) ||
  /^192\.168\./.test(h) ||
  /^172\.(1[6-9]|2\d|3[01])\./.test(h) ||
  h === "::1" ||
  h.endsWith(".local") ||
  h.endsWith(".internal");

export interface DoctorOptions {
  publicUrl?: string;
  allowLocal: boolean;
  ca?: Buffer;
  /** host:port to reach the public origin through (default PUBLIC_URL_VIA). */
  via?: string;
}

/** Every check of the deployment checklist, in order; none throws. */
export async function runChecks(ctx: Ctx, o: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const pub = o.publicUrl ?? ctx.config.PUBLIC_URL;
  // Without Twilio credentials only the browser phone is in use: a private host is then a warning, not a failure.
  const twilio = !!(ctx.config.TWILIO_ACCOUNT_SID && ctx.config.TWILIO_AUTH_TOKEN);
  const localOk = o.allowLocal || !twilio ? "warn" : false;
  const reach: Reach = { ca: o.ca, via: parseVia(o.via ?? ctx.config.PUBLIC_URL_VIA) };
  const where = reach.via ? `${reach.via.host}:${reach.via.port}` : undefined;
  let host = "";
  if (!pub)
    add({
      ok: false,
      name: "PUBLIC_URL",
      detail: "unset",
      fix: "set PUBLIC_URL=https://your.public.host in .env (with npm run dev: source tmp/dev/cli.env, as it prints)",
    });
  else {
    const u = new URL(pub);
    host = u.hostname;
    if (u.protocol !== "https:")
      add({
        ok: false,
        name: "PUBLIC_URL is https",
        detail: pub,
        fix: "Twilio only streams to wss://: use an https:// PUBLIC_URL behind Caddy",
      });
    else add({ ok: true, name: "PUBLIC_URL is https", detail: pub });
    try {
      const a = await lookup(host);
      // Inside the compose network the public name is Caddy's network alias: its answer says nothing about public DNS.
      const alias =
        reach.via &&
        !privateHost(host) &&
        (await lookup(reach.via.host).then(
          (e) => e.address === a.address,
          () => false,
        ));
      const local = privateHost(host) || privateHost(a.address);
      if (alias)
        add({
          ok: "warn",
          name: "PUBLIC_URL resolves to a public address",
          detail: `${host} → ${a.address}, Caddy's address inside the compose network (network alias)`,
          fix: `public DNS cannot be seen from inside the stack: check it outside (dig ${host}, or voicecall doctor on another machine)`,
        });
      else
        add({
          ok: local ? localOk : true,
          name: "PUBLIC_URL resolves to a public address",
          detail: `${host} → ${a.address}${where ? ` (doctor reaches it via ${where})` : ""}`,
          fix: local
            ? `Twilio cannot reach a private or loopback address${twilio ? "" : " (fine for the browser phone; Twilio is not configured)"}: use a public DNS name (or a tunnel)`
            : undefined,
        });
    } catch (err) {
      add({
        ok: false,
        name: "PUBLIC_URL resolves",
        detail: (err as Error).message,
        fix: "create a DNS record for the host",
      });
    }
  }

  let reachable = false;
  if (pub && pub.startsWith("https:")) {
    const target = where ?? `${host}:${new URL(pub).port || 443}`;
    try {
      const t = await tlsProbe(new URL(pub), reach);
      reachable = true;
      if (t.authorized) add({ ok: true, name: "TLS certificate trusted", detail: `issued by ${t.issuer}` });
      else if (t.caddyLocal) {
        reach.acceptLocalCa = true;
        add({
          ok: twilio && !ctx.config.TWILIO_API_BASE_URL ? false : "warn",
          name: "TLS certificate trusted",
          detail: `issued by Caddy's local CA (CADDY_TLS=internal): browsers must accept it once, Twilio refuses it`,
          fix: "for Twilio, CADDY_TLS=acme with a public PUBLIC_HOST; to trust the local CA here: --ca <root.crt> (docker compose cp caddy:/data/caddy/pki/authorities/local/root.crt .)",
        });
      } else
        add({
          ok: false,
          name: "TLS certificate trusted",
          detail: `${t.error} (issued by ${t.issuer})`,
          fix: "Caddy's certificate is not trusted: check CADDY_TLS and its logs (docker compose logs caddy)",
        });
    } catch (err) {
      add({
        ok: false,
        name: "webhook reachable",
        detail: `${target}: ${(err as Error).message}`,
        fix: where
          ? `Caddy does not answer at ${where} inside the stack: docker compose ps caddy; docker compose logs caddy`
          : `nothing answers at ${target}: is Caddy running (docker compose ps caddy), ports 443/80 open, and does ${host} point at this machine?`,
      });
    }
  }

  if (pub && reachable) {
    const hook = `${pub}/voice/webhook`;
    const form = new URLSearchParams({
      CallSid: "CA00000000000000000000000000000000",
      AccountSid: ctx.config.TWILIO_ACCOUNT_SID ?? "AC00000000000000000000000000000000",
      From: "+15005550006",
      To: "+15005550006",
      Direction: "inbound",
      CallStatus: "ringing",
    }).toString();
    let gatewayHasTwilio = true;
    try {
      const r = await post(hook, form, {}, reach);
      if (r.status === 403)
        add({ ok: true, name: "unsigned webhook is refused (403)", detail: "signature checking is on" });
      else if (r.status === 200)
        add({
          ok: false,
          name: "unsigned webhook is refused (403)",
          detail: "got 200: signature checking is OFF",
          fix: "remove TWILIO_SKIP_SIGNATURE=true",
        });
      else if (r.status === 503 && /Twilio is not configured/.test(r.body)) {
        gatewayHasTwilio = false;
        add({
          ok: twilio ? false : "warn",
          name: "webhooks reach the gateway",
          detail: "it refuses them (503): Twilio is not configured on the gateway",
          fix: twilio
            ? "this shell has Twilio credentials the gateway lacks: put them in .env and run docker compose up -d"
            : "set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER in .env for phone calls",
        });
      } else
        add({
          ok: false,
          name: "unsigned webhook is refused (403)",
          detail: `got ${r.status}`,
          fix:
            r.status === 404 || r.status === 502
              ? "the /voice/webhook route does not reach the gateway: check caddy/Caddyfile"
              : "check the gateway logs",
        });
    } catch (err) {
      add({
        ok: false,
        name: "webhook reachable",
        detail: (err as Error).message,
        fix: "Caddy answered TLS but not the request: docker compose logs caddy gateway",
      });
    }

    const token = ctx.config.TWILIO_AUTH_TOKEN;
    if (!token && !gatewayHasTwilio)
      add({
        ok: "warn",
        name: "signed webhook answers TwiML",
        detail: "not checked: Twilio is not configured (no TWILIO_AUTH_TOKEN here or on the gateway)",
      });
    else if (!token)
      add({
        ok: false,
        name: "signed webhook answers TwiML",
        detail: "TWILIO_AUTH_TOKEN unset here, but the gateway has one",
        fix: "run doctor with the same .env as the gateway (docker compose exec gateway voicecall doctor)",
      });
    else {
      const probeUrl = `${hook}?probe=1`;
      const params = Object.fromEntries(new URLSearchParams(form));
      const sig = twilioSignature(token, probeUrl.replace(/^(https:\/\/[^/:]+):\d+/, "$1"), params);
      try {
        const r = await post(probeUrl, form, { "x-twilio-signature": sig }, reach);
        const m = /<Stream[^>]*\surl="([^"]+)"/.exec(r.body);
        if (r.status !== 200 || !/xml/.test(r.type))
          add({
            ok: false,
            name: "signed webhook answers 200 text/xml",
            detail: `got ${r.status} ${r.type}`,
            fix:
              r.status === 403
                ? "TWILIO_AUTH_TOKEN or PUBLIC_URL differ between doctor and gateway"
                : "check the gateway logs",
          });
        else if (!m)
          add({
            ok: false,
            name: "TwiML has a <Stream url>",
            detail: r.body.slice(0, 200),
            fix: "the gateway must answer <Connect><Stream>",
          });
        else {
          const su = new URL(m[1]!.replace(/&amp;/g, "&"));
          const good = su.protocol === "wss:" && su.hostname === host;
          const local = privateHost(su.hostname);
          add({
            ok: good ? (local ? (o.allowLocal ? "warn" : false) : true) : false,
            name: "stream URL is wss:// on the public host",
            detail: su.toString(),
            fix: good
              ? local
                ? "a private stream host is unreachable for Twilio"
                : undefined
              : "set PUBLIC_URL on the gateway to the public https origin",
          });
          const up = await upgrade(su.toString(), reach);
          add({
            ok: up.status === 101,
            name: "stream URL upgrades to a WebSocket (101)",
            detail: up.detail,
            fix: up.status === 101 ? undefined : "route /voice/stream* to the media workers in caddy/Caddyfile",
          });
        }
      } catch (err) {
        add({ ok: false, name: "signed webhook answers TwiML", detail: (err as Error).message });
      }
    }
  }

  try {
    const bus = await ctx.bus();
    await bus.flush();
    add({ ok: true, name: "NATS reachable", detail: ctx.config.NATS_URL });
  } catch (err) {
    add({
      ok: false,
      name: "NATS reachable",
      detail: `${ctx.config.NATS_URL}: ${(err as Error).message}`,
      fix: "check NATS_URL and that nats is running (the compose stack does not publish NATS: docker compose exec gateway voicecall doctor)",
    });
  }
  try {
    const store = await ctx.store();
    const pong = await Promise.race([
      store.redis.ping(),
      new Promise<string>((r) => setTimeout(() => r("timeout"), 3000)),
    ]);
    if (pong !== "PONG") throw new Error(pong);
    add({ ok: true, name: "Redis reachable", detail: ctx.config.REDIS_URL });
    const hbs = await store.heartbeats();
    for (const svc of ["gateway", "media", "tts", "agent"] as const) {
      const n = hbs.filter((h) => h.service === svc).length;
      add({
        ok: n > 0,
        name: `${svc} alive (heartbeats)`,
        detail: `${n} instance(s)`,
        fix: n ? undefined : `start the ${svc} service (docker compose up -d ${svc})`,
      });
    }
  } catch (err) {
    add({
      ok: false,
      name: "Redis reachable",
      detail: `${ctx.config.REDIS_URL}: ${(err as Error).message}`,
      fix: "check REDIS_URL and that redis is running (the compose stack does not publish Redis: docker compose exec gateway voicecall doctor)",
    });
  }

  try {
    const d = await ctx.api.request<{ inboundPolicy: string; allowFrom: number; signatureChecking: boolean }>(
      "GET",
      "/api/diagnostics",
    );
    add({
      ok: d.inboundPolicy === "open" ? "warn" : true,
      name: "inbound policy",
      detail: `${d.inboundPolicy}${d.inboundPolicy === "allowlist" ? ` (${d.allowFrom} numbers)` : ""}`,
      fix: d.inboundPolicy === "open" ? "anyone can call the agent: consider INBOUND_POLICY=allowlist" : undefined,
    });
  } catch (err) {
    const cause = String(((err as Error).cause as Error | undefined)?.message ?? "");
    // The TLS reason is the message itself or its cause, depending on how far the client reduced the error.
    const tls = /certificate|self.signed|issuer/i.test(`${(err as Error).message} ${cause}`);
    add({
      ok: false,
      name: "gateway API reachable",
      detail: `${ctx.config.API_URL}: ${(err as Error).message}${cause ? ` (${cause})` : ""}`,
      fix: tls
        ? "the API's TLS certificate is not trusted here: --ca <Caddy's root.crt> (or CADDY_CA, or NODE_EXTRA_CA_CERTS=<Caddy's root.crt>)"
        : "check API_URL and API_TOKEN",
    });
  }

  checks.push(...(await twilioChecks(ctx, pub)));
  return checks;
}

async function twilioChecks(ctx: Ctx, pub?: string): Promise<Check[]> {
  const {
    TWILIO_ACCOUNT_SID: sid,
    TWILIO_AUTH_TOKEN: token,
    TWILIO_FROM_NUMBER: number,
    TWILIO_API_BASE_URL: base,
  } = ctx.config;
  if (!sid || !token)
    return [
      {
        ok: "warn",
        name: "Twilio credentials",
        detail: "not set: only the browser phone and simulator work",
        fix: "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
      },
    ];
  // `npm run dev` made them up: trying them against Twilio can only fail, and is not what is wrong.
  if (ctx.config.TWILIO_ACCOUNT_GENERATED)
    return [
      {
        ok: "warn",
        name: "Twilio credentials",
        detail:
          "generated by npm run dev, not a real account: phone calls and hangups answer 503; the browser phone and `voicecall simulate` work",
        fix: "export TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER before `npm run dev` to use your account",
      },
    ];
  const { twilioClient } = await import("@voicecall/twilio-client");
  const client = twilioClient(sid, token, base);
  const out: Check[] = [];
  try {
    await client.api.v2010.accounts(sid).fetch();
    out.push({ ok: true, name: "Twilio credentials valid", detail: sid });
  } catch (err) {
    return [
      {
        ok: false,
        name: "Twilio credentials valid",
        detail: (err as Error).message,
        fix: "check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN",
      },
    ];
  }
  if (!number) return [...out, { ok: "warn", name: "Twilio number", detail: "TWILIO_FROM_NUMBER unset" }];
  try {
    const [n] = await client.incomingPhoneNumbers.list({ phoneNumber: number, limit: 1 });
    if (!n)
      out.push({
        ok: false,
        name: "Twilio number belongs to the account",
        detail: number,
        fix: "buy or port the number into this account",
      });
    else out.push(...numberUrlChecks(n, pub));
  } catch (err) {
    out.push({ ok: false, name: "Twilio number lookup", detail: (err as Error).message });
  }
  return out;
}

/**
 * Both URLs of the number, as Twilio's REST API has them: the Voice URL (POST) and the "call status
 * changes" URL (POST). Without the second, Twilio sends no status callbacks for inbound calls; the
 * gateway then ends them by asking Twilio REST after the stream stops, so it is a warning.
 */
function numberUrlChecks(
  n: { voiceUrl: string; voiceMethod: string; statusCallback: string; statusCallbackMethod: string },
  pub?: string,
): Check[] {
  const voice = pub ? `${pub}/voice/webhook` : undefined;
  const status = pub ? `${pub}/voice/status` : undefined;
  const method = (m: string) => (m || "POST").toUpperCase();
  const voiceOk = !!voice && n.voiceUrl === voice && method(n.voiceMethod) === "POST";
  const statusCheck: Check = !n.statusCallback
    ? {
        ok: "warn",
        name: "number's status callback points here",
        detail: "(empty): Twilio sends no status callbacks for inbound calls",
        fix: status ? `set the number's "call status changes" URL to ${status} (POST)` : undefined,
      }
    : {
        ok: !!status && n.statusCallback === status && method(n.statusCallbackMethod) === "POST",
        name: "number's status callback points here",
        detail: `${n.statusCallback} (${method(n.statusCallbackMethod)})`,
        fix: status ? `set the number's "call status changes" URL to ${status} (POST)` : undefined,
      };
  return [
    {
      ok: voiceOk,
      name: "number's voice URL points here",
      detail: `${n.voiceUrl || "(empty)"} (${method(n.voiceMethod)})`,
      fix: voice ? `set the number's Voice URL to ${voice} (POST)` : undefined,
    },
    statusCheck,
  ];
}

/** `voicecall doctor [--public-url URL] [--allow-local] [--ca file] [--via host:port]` */
export async function doctorCommand(
  ctx: Ctx,
  _args: string[],
  flags: Record<string, string | boolean>,
): Promise<number> {
  const checks = await runChecks(ctx, {
    publicUrl: flags["public-url"] as string | undefined,
    allowLocal: !!flags["allow-local"],
    ca: ctx.ca(),
    via: flags.via as string | undefined,
  });
  if (flags.json) ctx.out(JSON.stringify(checks));
  else
    for (const c of checks)
      ctx.out(
        `${c.ok === true ? "✅" : c.ok === "warn" ? "⚠️ " : "❌"} ${c.name}: ${c.detail}${c.ok !== true && c.fix ? `\n   fix: ${c.fix}` : ""}`,
      );
  return checks.some((c) => c.ok === false) ? 1 : 0;
}
