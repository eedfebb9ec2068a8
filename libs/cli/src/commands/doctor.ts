import { lookup } from "node:dns/promises";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { WebSocket } from "ws";
import { twilioSignature } from "@voicecall/auth";
import type { Ctx } from "../context";

export type Check = { ok: boolean | "warn"; name: string; detail: string; fix?: string };

const privateHost = (h: string) =>
  h === "localhost" || /^127\./.test(h) || /^10\./.test(h) || /^192\.168\./.test(h) || /^172\.(1[6-9]|2\d|3[01])\./.test(h) || h === "::1" || h.endsWith(".local") || h.endsWith(".internal");

interface HttpResult {
  status: number;
  type: string;
  body: string;
}

function post(url: string, body: string, headers: Record<string, string>, ca?: Buffer): Promise<HttpResult> {
  const u = new URL(url);
  const req = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const r = req(u, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body), ...headers }, ca, timeout: 10_000 }, (res) => {
      let data = "";
      res.on("data", (d) => (data += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body: data }));
    });
    r.on("timeout", () => r.destroy(new Error("timed out after 10 s")));
    r.on("error", reject);
    r.end(body);
  });
}

function upgrade(url: string, ca?: Buffer): Promise<{ status: number; detail: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { ca, handshakeTimeout: 10_000 });
    ws.on("upgrade", (res) => resolve({ status: res.statusCode ?? 101, detail: "upgraded" }));
    ws.on("open", () => ws.close(1000, "doctor"));
    ws.on("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0, detail: `HTTP ${res.statusCode}` });
      ws.terminate();
    });
    ws.on("error", (err) => resolve({ status: 0, detail: err.message }));
  });
}

export interface DoctorOptions {
  publicUrl?: string;
  allowLocal: boolean;
  ca?: Buffer;
}

/** Every check of the deployment checklist, in order; none throws. */
export async function runChecks(ctx: Ctx, o: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const pub = o.publicUrl ?? ctx.config.PUBLIC_URL;
  let host = "";
  if (!pub) add({ ok: false, name: "PUBLIC_URL", detail: "unset", fix: "set PUBLIC_URL=https://your.public.host in .env (with npm run dev: source tmp/dev/cli.env, as it prints)" });
  else {
    const u = new URL(pub);
    host = u.hostname;
    if (u.protocol !== "https:") add({ ok: false, name: "PUBLIC_URL is https", detail: pub, fix: "Twilio only streams to wss://: use an https:// PUBLIC_URL behind Caddy" });
    else add({ ok: true, name: "PUBLIC_URL is https", detail: pub });
    try {
      const a = await lookup(host);
      const local = privateHost(host) || privateHost(a.address);
      add({ ok: local ? (o.allowLocal ? "warn" : false) : true, name: "PUBLIC_URL resolves to a public address", detail: `${host} → ${a.address}`, fix: local ? "Twilio cannot reach a private or loopback address: use a public DNS name (or a tunnel)" : undefined });
    } catch (err) {
      add({ ok: false, name: "PUBLIC_URL resolves", detail: (err as Error).message, fix: "create a DNS record for the host" });
    }
  }

  if (pub) {
    const hook = `${pub}/voice/webhook`;
    const form = new URLSearchParams({ CallSid: "CA00000000000000000000000000000000", AccountSid: ctx.config.TWILIO_ACCOUNT_SID ?? "AC00000000000000000000000000000000", From: "+15005550006", To: "+15005550006", Direction: "inbound", CallStatus: "ringing" }).toString();
    try {
      const r = await post(hook, form, {}, o.ca);
      if (r.status === 403) add({ ok: true, name: "unsigned webhook is refused (403)", detail: "signature checking is on" });
      else if (r.status === 200) add({ ok: false, name: "unsigned webhook is refused (403)", detail: "got 200: signature checking is OFF", fix: "remove TWILIO_SKIP_SIGNATURE=true" });
      else add({ ok: false, name: "unsigned webhook is refused (403)", detail: `got ${r.status}`, fix: r.status === 404 || r.status === 502 ? "the /voice/webhook route does not reach the gateway: check caddy/Caddyfile" : "check the gateway logs" });
    } catch (err) {
      add({ ok: false, name: "webhook reachable", detail: (err as Error).message, fix: `is Caddy running and port ${new URL(pub).port || 443} open (and the DNS record right)?` });
    }

    const token = ctx.config.TWILIO_AUTH_TOKEN;
    if (!token) add({ ok: false, name: "signed webhook answers TwiML", detail: "TWILIO_AUTH_TOKEN unset here", fix: "run doctor with the same .env as the gateway" });
    else {
      const probeUrl = `${hook}?probe=1`;
      const params = Object.fromEntries(new URLSearchParams(form));
      const sig = twilioSignature(token, probeUrl.replace(/^(https:\/\/[^/:]+):\d+/, "$1"), params);
      try {
        const r = await post(probeUrl, form, { "x-twilio-signature": sig }, o.ca);
        const m = /<Stream[^>]*\surl="([^"]+)"/.exec(r.body);
        if (r.status !== 200 || !/xml/.test(r.type)) add({ ok: false, name: "signed webhook answers 200 text/xml", detail: `got ${r.status} ${r.type}`, fix: r.status === 403 ? "TWILIO_AUTH_TOKEN or PUBLIC_URL differ between doctor and gateway" : "check the gateway logs" });
        else if (!m) add({ ok: false, name: "TwiML has a <Stream url>", detail: r.body.slice(0, 200), fix: "the gateway must answer <Connect><Stream>" });
        else {
          const su = new URL(m[1]!.replace(/&amp;/g, "&"));
          const good = su.protocol === "wss:" && su.hostname === host;
          const local = privateHost(su.hostname);
          add({ ok: good ? (local ? (o.allowLocal ? "warn" : false) : true) : false, name: "stream URL is wss:// on the public host", detail: su.toString(), fix: good ? (local ? "a private stream host is unreachable for Twilio" : undefined) : "set PUBLIC_URL on the gateway to the public https origin" });
          const up = await upgrade(su.toString(), o.ca);
          add({ ok: up.status === 101, name: "stream URL upgrades to a WebSocket (101)", detail: up.detail, fix: up.status === 101 ? undefined : "route /voice/stream* to the media workers in caddy/Caddyfile" });
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
    add({ ok: false, name: "NATS reachable", detail: (err as Error).message, fix: "check NATS_URL and that nats is running" });
  }
  try {
    const store = await ctx.store();
    const pong = await Promise.race([store.redis.ping(), new Promise<string>((r) => setTimeout(() => r("timeout"), 3000))]);
    if (pong !== "PONG") throw new Error(pong);
    add({ ok: true, name: "Redis reachable", detail: ctx.config.REDIS_URL });
    const hbs = await store.heartbeats();
    for (const svc of ["gateway", "media", "tts", "agent"] as const) {
      const n = hbs.filter((h) => h.service === svc).length;
      add({ ok: n > 0, name: `${svc} alive (heartbeats)`, detail: `${n} instance(s)`, fix: n ? undefined : `start the ${svc} service (docker compose up -d ${svc})` });
    }
  } catch (err) {
    add({ ok: false, name: "Redis reachable", detail: (err as Error).message, fix: "check REDIS_URL and that redis is running" });
  }

  try {
    const d = await ctx.api.request<{ inboundPolicy: string; allowFrom: number; signatureChecking: boolean }>("GET", "/api/diagnostics");
    add({ ok: d.inboundPolicy === "open" ? "warn" : true, name: "inbound policy", detail: `${d.inboundPolicy}${d.inboundPolicy === "allowlist" ? ` (${d.allowFrom} numbers)` : ""}`, fix: d.inboundPolicy === "open" ? "anyone can call the agent: consider INBOUND_POLICY=allowlist" : undefined });
  } catch (err) {
    add({ ok: false, name: "gateway API reachable", detail: (err as Error).message, fix: "check API_URL and API_TOKEN" });
  }

  checks.push(...(await twilioChecks(ctx, pub)));
  return checks;
}

async function twilioChecks(ctx: Ctx, pub?: string): Promise<Check[]> {
  const { TWILIO_ACCOUNT_SID: sid, TWILIO_AUTH_TOKEN: token, TWILIO_FROM_NUMBER: number, TWILIO_API_BASE_URL: base } = ctx.config;
  if (!sid || !token) return [{ ok: "warn", name: "Twilio credentials", detail: "not set: only the browser phone and simulator work", fix: "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" }];
  // `npm run dev` made them up: trying them against Twilio can only fail, and is not what is wrong.
  if (ctx.config.TWILIO_ACCOUNT_GENERATED)
    return [
      {
        ok: "warn",
        name: "Twilio credentials",
        detail: "generated by npm run dev, not a real account: phone calls and hangups answer 503; the browser phone and `voicecall simulate` work",
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
    return [{ ok: false, name: "Twilio credentials valid", detail: (err as Error).message, fix: "check TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN" }];
  }
  if (!number) return [...out, { ok: "warn", name: "Twilio number", detail: "TWILIO_FROM_NUMBER unset" }];
  try {
    const [n] = await client.incomingPhoneNumbers.list({ phoneNumber: number, limit: 1 });
    if (!n) out.push({ ok: false, name: "Twilio number belongs to the account", detail: number, fix: "buy or port the number into this account" });
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
function numberUrlChecks(n: { voiceUrl: string; voiceMethod: string; statusCallback: string; statusCallbackMethod: string }, pub?: string): Check[] {
  const voice = pub ? `${pub}/voice/webhook` : undefined;
  const status = pub ? `${pub}/voice/status` : undefined;
  const method = (m: string) => (m || "POST").toUpperCase();
  const voiceOk = !!voice && n.voiceUrl === voice && method(n.voiceMethod) === "POST";
  const statusCheck: Check = !n.statusCallback
    ? { ok: "warn", name: "number's status callback points here", detail: "(empty): Twilio sends no status callbacks for inbound calls", fix: status ? `set the number's "call status changes" URL to ${status} (POST)` : undefined }
    : { ok: !!status && n.statusCallback === status && method(n.statusCallbackMethod) === "POST", name: "number's status callback points here", detail: `${n.statusCallback} (${method(n.statusCallbackMethod)})`, fix: status ? `set the number's "call status changes" URL to ${status} (POST)` : undefined };
  return [
    { ok: voiceOk, name: "number's voice URL points here", detail: `${n.voiceUrl || "(empty)"} (${method(n.voiceMethod)})`, fix: voice ? `set the number's Voice URL to ${voice} (POST)` : undefined },
    statusCheck,
  ];
}

/** `voicecall doctor [--public-url URL] [--allow-local] [--ca file]` */
export async function doctorCommand(ctx: Ctx, _args: string[], flags: Record<string, string | boolean>): Promise<number> {
  const checks = await runChecks(ctx, {
    publicUrl: flags["public-url"] as string | undefined,
    allowLocal: !!flags["allow-local"],
    ca: ctx.ca(),
  });
  if (flags.json) ctx.out(JSON.stringify(checks));
  else for (const c of checks) ctx.out(`${c.ok === true ? "✅" : c.ok === "warn" ? "⚠️ " : "❌"} ${c.name}: ${c.detail}${c.ok !== true && c.fix ? `\n   fix: ${c.fix}` : ""}`);
  return checks.some((c) => c.ok === false) ? 1 : 0;
}
