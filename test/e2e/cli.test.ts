import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliConfig, Ctx, runCli } from "@voicecall/cli";
import {
  cliEnvFor,
  freePort,
  startProc,
  startVoiceStack,
  stackRoutes,
  waitFor,
  type Proc,
  type VoiceStack,
} from "@voicecall/testkit";

/** `voicecall` commands against a running stack (Caddy TLS, the simulator as Twilio). */
let v: VoiceStack;
const FROM = "+15005550006";
const tmp = mkdtempSync(join(tmpdir(), "vc-cli-"));

beforeAll(async () => {
  v = await startVoiceStack({ serviceEnv: { gateway: { INBOUND_POLICY: "open" } } });
  v.sim.setNumber(FROM, `${v.stack.origin}/voice/webhook`);
}, 120_000);
afterAll(async () => {
  await v?.stop();
});

function env(): Record<string, string> {
  return { ...cliEnvFor(v.stack, FROM), TWILIO_API_BASE_URL: v.sim.origin };
}

async function cli(...argv: string[]) {
  return cliUntil(new AbortController(), [], ...argv);
}

/** Run a command, its output lines collected in `out` as they come; `ac` stops a long one (tail). */
async function cliUntil(ac: AbortController, out: string[], ...argv: string[]) {
  return cliWith(env(), ac, out, ...argv);
}

async function cliWith(e: Record<string, string>, ac: AbortController, out: string[], ...argv: string[]) {
  const ctx = new Ctx(
    cliConfig(e),
    (l) => out.push(l),
    (l) => out.push(l),
    ac.signal,
  );
  try {
    const code = await runCli(ctx, argv);
    return { code, text: out.join("\n") };
  } finally {
    await ctx.close();
  }
}

const caPath = () => v.stack.servers.caddy!.caPath;
const routesNow = () =>
  stackRoutes(
    v.stack.get("gateway").port,
    v.stack.services.media.map((m) => m.port),
  );

describe("voicecall doctor", () => {
  it("passes on a good local setup (local addresses allowed)", async () => {
    const r = await cli("doctor", "--allow-local", "--ca", caPath());
    expect(r.text).not.toContain("❌");
    for (const ok of [
      "unsigned webhook is refused",
      "stream URL upgrades to a WebSocket",
      "NATS reachable",
      "media alive",
      "number's voice URL points here",
    ])
      expect(r.text).toMatch(new RegExp(`✅ ${ok}`));
    expect(r.text).toMatch(/⚠️ +number's status callback points here: \(empty\)/);
    expect(r.code).toBe(0);
    v.sim.setNumber(FROM, {
      voiceUrl: `${v.stack.origin}/voice/webhook`,
      statusCallback: `${v.stack.origin}/voice/status`,
    });
    try {
      expect((await cli("doctor", "--allow-local", "--ca", caPath())).text).toMatch(
        /✅ number's status callback points here/,
      );
    } finally {
      v.sim.setNumber(FROM, `${v.stack.origin}/voice/webhook`);
    }
  });

  it("names a private stream URL when local addresses are not allowed", async () => {
    const r = await cli("doctor", "--ca", caPath());
    expect(r.code).toBe(1);
    expect(r.text).toMatch(/❌ stream URL is wss:\/\/ on the public host/);
    expect(r.text).toMatch(/a private stream host is unreachable for Twilio/);
  });

  it("names a missing stream route in Caddy", async () => {
    const good = routesNow();
    await v.stack.servers.caddy!.setRoutes(good.filter((r) => !r.path.startsWith("/voice/stream")));
    try {
      const r = await cli("doctor", "--allow-local", "--ca", caPath());
      expect(r.code).toBe(1);
      expect(r.text).toMatch(/❌ stream URL upgrades to a WebSocket \(101\): HTTP 404/);
      expect(r.text).toMatch(/route \/voice\/stream\* to the media workers/);
    } finally {
      await v.stack.servers.caddy!.setRoutes(good);
    }
  });

  it("names signature checking turned off", async () => {
    const port = await freePort();
    const e = env();
    const gw: Proc = startProc("node", ["--import", "tsx", "services/gateway/src/main.ts"], {
      ...process.env,
      NATS_URL: e.NATS_URL,
      REDIS_URL: e.REDIS_URL,
      PUBLIC_URL: e.PUBLIC_URL,
      PORT: String(port),
      INSTANCE_ID: "gateway-unsigned",
      TWILIO_ACCOUNT_SID: e.TWILIO_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: e.TWILIO_AUTH_TOKEN,
      TWILIO_API_BASE_URL: e.TWILIO_API_BASE_URL,
      TWILIO_FROM_NUMBER: FROM,
      API_TOKEN: e.API_TOKEN,
      STREAM_TOKEN_SECRET: v.stack.secrets.STREAM_TOKEN_SECRET,
      TWILIO_SKIP_SIGNATURE: "true",
      LOG_LEVEL: "warn",
    });
    const good = routesNow();
    try {
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok,
        "second gateway ready",
        60_000,
        200,
      );
      await v.stack.servers.caddy!.setRoutes(
        stackRoutes(
          port,
          v.stack.services.media.map((m) => m.port),
        ),
      );
      const r = await cli("doctor", "--allow-local", "--ca", caPath());
      expect(r.code).toBe(1);
      expect(r.text).toMatch(/❌ unsigned webhook is refused \(403\): got 200: signature checking is OFF/);
      expect(r.text).toMatch(/remove TWILIO_SKIP_SIGNATURE=true/);
      expect(gw.output()).toContain("TWILIO_SKIP_SIGNATURE=true");
    } finally {
      await v.stack.servers.caddy!.setRoutes(good);
      await gw.stop();
    }
  });
});

describe("voicecall commands", () => {
  it("simulate: an inbound call hears the greeting and a reply, prints both sides, saves a WAV", async () => {
    const wav = join(tmp, "heard.wav");
    const r = await cli("simulate", "--say", "what are your opening hours", "--ca", caPath(), "--wav", wav);
    expect(r.text).toMatch(/caller +what are your opening hours/);
    expect(r.text).toMatch(/agent +We are open Monday to Friday/);
    expect(existsSync(wav)).toBe(true);
    expect(r.code).toBe(0);
    // The rehearsal's number has no status callback: the call still ends when the simulated caller hangs up.
    const simulated = /call (\S+) \(CA/.exec(r.text)![1]!;
    await waitFor(
      async () => (await v.store.getCall(simulated))?.state === "completed",
      "rehearsal call ended",
      20_000,
      100,
    );

    // The media worker recorded that call's turns; `latency` reads them back as percentiles.
    const lat = await cli("latency", "--since", "1h", "--json");
    const rows = JSON.parse(lat.text) as { turn: string; n: number; p50: number }[];
    expect(rows.find((x) => x.turn.startsWith("stream start"))!.n).toBeGreaterThanOrEqual(1);
    expect(rows.find((x) => x.turn.startsWith("caller end"))!.n).toBeGreaterThanOrEqual(1);
  });

  it("simulate as `npm run dev` prints it: CADDY_CA trusted without --ca, progress as it goes, the WAV under tmp/", async () => {
    const out: string[] = [];
    const r = await cliWith(
      { ...env(), CADDY_CA: caPath() },
      new AbortController(),
      out,
      "simulate",
      "--say",
      "what are your opening hours",
    );
    expect(r.text).toMatch(/answered: stream open/);
    expect(r.text).toMatch(/greeting: heard \d+\.\d s of agent audio/);
    expect(r.text).toMatch(/reply: heard \d+\.\d s of agent audio/);
    expect(r.text).toMatch(/saved what the caller heard to tmp\/simulated-call\.wav/);
    expect(existsSync(join(process.cwd(), "tmp", "simulated-call.wav"))).toBe(true);
    expect(r.code).toBe(0);
  });

  it("the API over https (Caddy) with CADDY_CA; an unreadable CA file is one clear line", async () => {
    const ok = await cliWith(
      { ...env(), API_URL: v.stack.origin, CADDY_CA: caPath() },
      new AbortController(),
      [],
      "calls",
    );
    expect(ok.code, ok.text).toBe(0);
    const bad = await cliWith(
      { ...env(), API_URL: v.stack.origin, CADDY_CA: "/nonexistent/root.crt" },
      new AbortController(),
      [],
      "calls",
    );
    expect(bad.code).toBe(2);
    expect(bad.text).toBe("CADDY_CA /nonexistent/root.crt: ENOENT");
  });

  it("call, calls, show, hangup", async () => {
    const placed = await cli("call", "+14155550123", "--message", "Hello from the CLI test");
    expect(placed.code).toBe(0);
    const callId = /call (\S+) queued/.exec(placed.text)![1]!;
    const phone = await v.sim.nextCall(20_000);
    await phone.waitForStream(1, 30_000);
    await waitFor(async () => (await v.store.getCall(callId))?.state === "in-progress", "in-progress", 20_000, 100);
    expect((await cli("calls")).text).toMatch(new RegExp(`${callId}\\s+in-progress\\s+outbound\\s+conversation`));
    const lines: string[] = [];
    const stopTail = new AbortController();
    const tail = cliUntil(stopTail, lines, "tail", callId);
    const said = new RegExp(`${callId.slice(0, 12)}\\s+operator.say\\s+text="A word from the operator."`);
    await waitFor(
      async () => {
        await v.api("POST", `/api/calls/${callId}/say`, { text: "A word from the operator." });
        return lines.some((l) => said.test(l));
      },
      "tail shows the operator's line",
      20_000,
      500,
    );
    stopTail.abort();
    expect((await tail).code).toBe(0);
    expect((await cli("hangup", phone.sid)).code).toBe(0);
    expect(await phone.waitForEnd(20_000)).toBe("completed");
    await waitFor(async () => (await v.store.getCall(callId))?.state === "completed", "completed", 20_000, 100);
    const shown = await cli("show", callId);
    expect(shown.text).toMatch(/state completed/);
    expect(shown.text).toMatch(/completed\s+in-progress/);
  });
});
