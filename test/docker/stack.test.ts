import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { startSimulator, type Phone, type Simulator } from "@voicecall/twilio-sim";
import { freePort, waitFor } from "@voicecall/testkit";
import { apiCall, callView, ownerOf, toHost, voiced, webCall, type Api, type WebCall } from "./calls";
import { https, localExtraCa, must, Project, root, sh } from "./compose";

/**
 * The project's first command for real: base images (pulled, or stand-ins where no registry answers),
 * `docker compose build`, `init-env` + `up -d`, then calls through Caddy, doctor inside and outside the
 * stack, scaling, a killed and a stopped media worker and a Redis restart with calls in flight, `down`.
 * One story, in order; every step's time goes to the report printed at the end.
 */
const SUBNET_GATEWAY = "172.29.80.1"; // the host on the compose network (docker-compose.yml's fixed subnet)
const CADDY_IP = "172.29.80.2";
const PUBLIC_HOST = "voice.example.test"; // phase 2: a real-looking name instead of localhost
const FROM = "+15005550006";

const report: [string, string][] = [];
const t0 = Date.now();
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const r = await fn();
  report.push([what, `${((Date.now() - t) / 1000).toFixed(1)} s`]);
  return r;
}

let p: Project;
let api: Api;
let sim: Simulator | undefined;
let initOut = "";

/** Every container with a healthcheck healthy, and Caddy serving the browser phone. */
async function healthy(media: number): Promise<void> {
  await waitFor(
    async () => {
      const cs = await p.containers();
      const running = cs.filter((c) => c.status.startsWith("Up"));
      if (running.filter((c) => c.service === "media").length !== media) return false;
      if (running.some((c) => c.status.includes("health") && !c.status.includes("(healthy)"))) return false;
      if (!running.some((c) => c.service === "caddy")) return false;
      const host = api?.origin ? new URL(api.origin).hostname : "localhost";
      const r = await https("https://127.0.0.1/phone", { servername: host, headers: { host } }).catch(() => undefined);
      return r?.status === 200;
    },
    "stack healthy",
    180_000,
    500,
  );
}

const doctorInside = (...args: string[]) =>
  p.run(["exec", "-T", "gateway", "voicecall", "doctor", ...args], { timeoutMs: 120_000 });

beforeAll(async () => {
  const v = await sh(["docker", "version", "--format", "{{.Server.Version}}"]);
  if (v.code !== 0)
    throw new Error(
      `no Docker engine answers (DOCKER_HOST=${process.env.DOCKER_HOST ?? "default"}): ${v.err.trim()}\n.ci/run starts one; see README "Test"`,
    );
  report.push(["engine", `Docker ${v.out.trim()}`]);
  const base = await timed("base images (pull, or stand-ins)", () =>
    must(["bash", join(root, "test/docker/stand-ins/build.sh")], { timeoutMs: 600_000 }),
  );
  for (const l of base.trim().split("\n")) report.push(["", l]);

  p = new Project();
  report.push(["compose", p.compose.join(" ")]);
  const args = ["-f", "docker-compose.yml", "--env-file", ".env.example", "build"];
  const ca = process.env.EXTRA_CA_CERT ?? localExtraCa();
  if (ca) args.push("--build-arg", `EXTRA_CA_CERT=${ca}`);
  if (process.env.NPM_REGISTRY) args.push("--build-arg", `NPM_REGISTRY=${process.env.NPM_REGISTRY}`);
  await timed("image build (voicecall:local)", () =>
    must([...p.compose, ...args, "gateway"], { cwd: root, timeoutMs: 900_000 }),
  );
  const size = Number((await must(["docker", "image", "inspect", "-f", "{{.Size}}", "voicecall:local"])).trim());
  report.push(["image voicecall:local", `${Math.round(size / 1e6)} MB`]);

  initOut = await must(["sh", "scripts/init-env.sh"], { cwd: p.dir });
  api = { origin: "https://localhost", token: p.env().API_TOKEN!, ca: Buffer.alloc(0) };
  await timed("up -d → healthy (fresh volumes)", async () => {
    await p.must(["up", "-d", "--no-build"], { timeoutMs: 300_000 });
    await healthy(2);
  });
  api.ca = Buffer.from(await p.must(["exec", "-T", "caddy", "cat", "/data/caddy/pki/authorities/local/root.crt"]));
}, 1_500_000);

afterAll(async () => {
  await sim?.stop();
  if (p) {
    await p.run(["down", "-v", "--remove-orphans"], { timeoutMs: 120_000 });
    p.remove();
  }
  report.push(["total", `${((Date.now() - t0) / 1000).toFixed(0)} s`]);
  console.log(`\ncompose run on this machine:\n${report.map(([k, v]) => `  ${k.padEnd(38)} ${v}`).join("\n")}\n`);
}, 180_000);

describe("docker compose: the offline default .env (PUBLIC_HOST=localhost, no Twilio)", () => {
  it("init-env wrote the secrets and printed the browser phone URL with the token", () => {
    expect(initOut).toContain(`https://localhost/phone#token=${api.token}`);
    expect(api.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it("each app container exposes only its own port", async () => {
    const ports = { gateway: "3000/tcp", media: "8080/tcp", tts: "8081/tcp", agent: "8082/tcp" } as Record<
      string,
      string
    >;
    for (const c of await p.containers()) {
      if (!ports[c.service]) continue;
      const exposed = JSON.parse(
        await must(["docker", "inspect", "-f", "{{json .Config.ExposedPorts}}", c.id]),
      ) as Record<string, unknown>;
      expect(Object.keys(exposed), c.name).toEqual([ports[c.service]]);
    }
  });

  it("the gateway sees the client's address through Caddy (TRUSTED_PROXIES = Caddy), not Caddy's", async () => {
    const r = await https("https://127.0.0.1/voice/webhook", {
      method: "POST",
      ca: api.ca,
      servername: "localhost",
      headers: { host: "localhost", "x-forwarded-for": "203.0.113.9" },
      form: "CallSid=CA00000000000000000000000000000000",
    });
    expect(r.status).toBe(503); // Twilio is not configured
    await waitFor(async () => /twilio request rejected/.test(await p.logs("gateway")), "rejection logged", 10_000, 250);
    const line = (await p.logs("gateway"))
      .split("\n")
      .reverse()
      .find((l) => l.includes("twilio request rejected"))!;
    const ip = /"ip":"([^"]+)"/.exec(line)?.[1];
    expect(ip).toBe(SUBNET_GATEWAY); // the host, as Caddy saw it; not CADDY_IP, not the spoofed header
    expect(ip).not.toBe(CADDY_IP);
  });

  it("the lean image has no onnxruntime-web, and VAD_PROVIDER=silero says in one line how to get it", async () => {
    expect(
      (await sh(["docker", "run", "--rm", "--entrypoint", "ls", "voicecall:local", "node_modules/onnxruntime-web"]))
        .code,
    ).not.toBe(0);
    const r = await p.run(["run", "--rm", "--no-deps", "-e", "VAD_PROVIDER=silero", "media"], { timeoutMs: 120_000 });
    expect(r.code).not.toBe(0);
    expect(r.out + r.err).toMatch(/VAD_PROVIDER=silero needs onnxruntime-web.*--build-arg SILERO=true/);
  });

  it("a browser-phone call through Caddy: greeting, the caller's sentence, the agent's reply, hang-up", async () => {
    const c = await webCall(api, "unused");
    await waitFor(() => c.heardMs() > 1500, "greeting heard", 30_000, 100);
    await waitFor(async () => (await callView(api, c.callId)).call.greetingPlayed, "greeting played", 30_000, 200);
    const before = c.heardMs();
    await c.mouth.say("what are your opening hours");
    await waitFor(
      async () =>
        (await callView(api, c.callId)).transcript.some(
          (t) => t.role === "agent" && /open Monday to Friday/.test(t.text),
        ),
      "agent reply",
      30_000,
      200,
    );
    await waitFor(() => c.heardMs() > before + 1500, "reply heard", 30_000, 100);
    expect((await c.hangup()).status).toBe(200);
    await waitFor(async () => (await callView(api, c.callId)).call.state === "completed", "completed", 20_000, 200);
    const v = await callView(api, c.callId);
    expect(v.transcript.filter((t) => t.role === "caller").map((t) => t.text)).toEqual(["what are your opening hours"]);
  }, 120_000);

  it("doctor inside the stack exits 0 and tells the truth (reached via Caddy, its local CA, Twilio not configured)", async () => {
    const r = await doctorInside();
    expect(r.out).not.toContain("❌");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /⚠️ +PUBLIC_URL resolves to a public address: localhost → 127\.0\.0\.1 \(doctor reaches it via caddy:443\)/,
    );
    expect(r.out).toMatch(/⚠️ +TLS certificate trusted: issued by Caddy's local CA/);
    expect(r.out).toMatch(/⚠️ +webhooks reach the gateway: it refuses them \(503\): Twilio is not configured/);
    expect(r.out).toMatch(/⚠️ +Twilio credentials: not set/);
    for (const ok of ["NATS reachable", "Redis reachable", "media alive", "inbound policy"])
      expect(r.out).toMatch(new RegExp(`✅ ${ok}`));
  }, 120_000);

  it("doctor inside names Caddy when Caddy is down", async () => {
    await p.must(["stop", "caddy"]);
    try {
      const r = await doctorInside();
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/❌ webhook reachable: caddy:443: /);
      expect(r.out).toMatch(/Caddy does not answer at caddy:443 inside the stack/);
    } finally {
      await p.must(["start", "caddy"]);
      await healthy(2);
    }
  }, 120_000);

  it("doctor outside the stack: trusts Caddy with --ca, and says NATS/Redis are only reachable inside", async () => {
    const { writeFileSync } = await import("node:fs");
    const caFile = join(p.dir, "root.crt");
    writeFileSync(caFile, api.ca);
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PUBLIC_URL: "https://localhost",
      API_URL: "https://localhost",
      API_TOKEN: api.token,
      NODE_EXTRA_CA_CERTS: caFile,
    };
    const cli = join(root, "libs/cli/bin/voicecall.mjs");
    const withCa = await sh([process.execPath, cli, "doctor", "--ca", caFile], { env, timeoutMs: 120_000 });
    expect(withCa.out).toMatch(/✅ TLS certificate trusted: issued by Caddy Local Authority/);
    expect(withCa.out).toMatch(/⚠️ +webhooks reach the gateway: it refuses them \(503\)/);
    expect(withCa.out).toMatch(/✅ inbound policy/);
    expect(withCa.out).toMatch(
      /❌ NATS reachable: nats:\/\/127\.0\.0\.1:4222.*\n.*the compose stack does not publish NATS/,
    );
    const noCa = await sh([process.execPath, cli, "doctor"], {
      env: { ...env, NODE_EXTRA_CA_CERTS: undefined },
      timeoutMs: 120_000,
    });
    expect(noCa.out).toMatch(/⚠️ +TLS certificate trusted: issued by Caddy's local CA.*\n.*--ca <root\.crt>/);
    expect(noCa.out).toMatch(/❌ gateway API reachable: .*\n.*NODE_EXTRA_CA_CERTS/);
  }, 240_000);
});

describe(`docker compose: Twilio simulator on the host, PUBLIC_HOST=${PUBLIC_HOST}`, () => {
  const phones: Phone[] = [];
  const placeCall = async () => {
    const r = await apiCall(api, "POST", "/api/calls", {
      to: "+14155550123",
      mode: "conversation",
      greeting: "Hello, thanks for calling Acme Dental. How can I help?",
    });
    expect(r.status, r.text).toBe(202);
    const phone = await sim!.nextCall(30_000);
    phones.push(phone);
    await phone.waitForStream(1, 30_000);
    await waitFor(() => voiced(phone.heard().audio) > 1500, "greeting heard", 30_000, 100);
    return { callId: (r.json as { callId: string }).callId, phone };
  };
  /** The caller asks, the agent answers and is heard: the call works now. */
  const turn = async (c: { callId: string; phone: Phone }, text: string, reply: RegExp) => {
    const before = voiced(c.phone.heard().audio);
    const n = (await callView(api, c.callId)).transcript.filter((t) => t.role === "agent" && reply.test(t.text)).length;
    await c.phone.say(text);
    await waitFor(
      async () =>
        (await callView(api, c.callId)).transcript.filter((t) => t.role === "agent" && reply.test(t.text)).length > n,
      `reply to "${text}"`,
      40_000,
      200,
    );
    await waitFor(() => voiced(c.phone.heard().audio) > before + 1000, "reply heard", 30_000, 100);
  };
  const hours = (c: { callId: string; phone: Phone }) =>
    turn(c, "what are your opening hours", /open Monday to Friday/);
  const mediaIds = async () =>
    (await p.containers()).filter((c) => c.service === "media" && c.status.startsWith("Up")).map((c) => c.id);

  beforeAll(async () => {
    const port = await freePort();
    sim = await startSimulator({
      host: SUBNET_GATEWAY,
      port,
      ca: api.ca,
      route: toHost,
      numbers: { [FROM]: `https://${PUBLIC_HOST}/voice/webhook` },
    });
    p.setEnv({
      PUBLIC_HOST,
      TWILIO_ACCOUNT_SID: sim.accountSid,
      TWILIO_AUTH_TOKEN: sim.authToken,
      TWILIO_FROM_NUMBER: FROM,
      TWILIO_API_BASE_URL: sim.origin,
    });
    api.origin = `https://${PUBLIC_HOST}`;
    await timed("up -d with the new .env → healthy", async () => {
      await p.must(["up", "-d", "--no-build"], { timeoutMs: 300_000 });
      await healthy(2);
    });
  }, 400_000);
  afterAll(async () => {
    await Promise.all(
      phones.filter((ph) => ph.status === "in-progress").map((ph) => ph.hangup().catch(() => undefined)),
    );
  });

  it("a phone call: the gateway dials the simulator, webhooks and wss come into Caddy; greeting, reply, goodbye", async () => {
    const c = await placeCall();
    await hours(c);
    await c.phone.say("no thanks");
    expect(await c.phone.waitForEnd(40_000)).toBe("completed");
    await waitFor(async () => (await callView(api, c.callId)).call.state === "completed", "completed", 20_000, 200);
  }, 180_000);

  it("doctor inside: the public name is Caddy's network alias (said so), the signed webhook and the stream pass", async () => {
    const r = await doctorInside();
    expect(r.out).toMatch(
      new RegExp(
        `⚠️ +PUBLIC_URL resolves to a public address: ${PUBLIC_HOST.replace(/\./g, "\\.")} → ${CADDY_IP.replace(/\./g, "\\.")}, Caddy's address inside the compose network`,
      ),
    );
    for (const ok of [
      "unsigned webhook is refused",
      "stream URL is wss:// on the public host",
      "stream URL upgrades to a WebSocket",
      "Twilio credentials valid",
      "number's voice URL points here",
    ])
      expect(r.out).toMatch(new RegExp(`✅ ${ok}`));
    expect(r.out).not.toContain("❌");
    expect(r.code).toBe(0);
  }, 120_000);

  it("--scale media=3: new streams are balanced 2/2/2 by Caddy", async () => {
    await timed("--scale media=3 → healthy", async () => {
      await p.must(["up", "-d", "--no-build", "--scale", "media=3"], { timeoutMs: 300_000 });
      await healthy(3);
    });
    await new Promise((r) => setTimeout(r, 6000)); // Caddy's `dynamic a` refresh (5 s) picks up the new replica
    const calls: WebCall[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const c = await webCall(api, sim!.authToken);
        calls.push(c);
        await waitFor(async () => !!ownerOf(await callView(api, c.callId)), "stream owned", 20_000, 100);
      }
      const owners = await Promise.all(calls.map(async (c) => ownerOf(await callView(api, c.callId))!));
      const per = new Map<string, number>();
      for (const o of owners) per.set(o, (per.get(o) ?? 0) + 1);
      const counts = [...per.values()].sort();
      report.push(["6 streams over 3 workers", counts.join("/")]);
      expect(counts).toEqual([2, 2, 2]);
      expect(new Set(owners)).toEqual(new Set((await mediaIds()).map((id) => id.slice(0, 12))));
    } finally {
      await Promise.all(calls.map((c) => c.hangup()));
    }
  }, 240_000);

  it("kill -9 of the media container carrying a call: the call goes on through another worker", async () => {
    const c = await placeCall();
    const owner = ownerOf(await callView(api, c.callId))!;
    await timed("kill -9 media → call on another worker", async () => {
      await must(["docker", "kill", "-s", "KILL", owner]);
      await c.phone.waitForStream(2, 30_000);
      await waitFor(async () => (ownerOf(await callView(api, c.callId)) ?? owner) !== owner, "new owner", 30_000, 200);
    });
    await hours(c);
    expect((await callView(api, c.callId)).call.state).toBe("in-progress");
    await c.phone.hangup();
    await must(["docker", "start", owner]); // `docker kill` is a manual stop: restart: unless-stopped leaves it down
    await healthy(3);
  }, 240_000);

  it("stop of the media container carrying a call (drain): new calls still connect", async () => {
    const c = await placeCall();
    const owner = ownerOf(await callView(api, c.callId))!;
    const stopped = new Promise<number>((resolve) =>
      spawn("docker", ["stop", owner], { stdio: "ignore" }).once("exit", (code) => resolve(code ?? 1)),
    );
    await new Promise((r) => setTimeout(r, 1500)); // SIGTERM delivered: the worker is draining
    for (let i = 0; i < 3; i++) {
      const n = await placeCall();
      expect(ownerOf(await callView(api, n.callId))).not.toBe(owner);
      await n.phone.hangup();
    }
    await c.phone.hangup(); // lets the drain finish
    await timed("stop of a draining media worker", async () => expect(await stopped).toBe(0));
    await must(["docker", "start", owner]);
    await healthy(3);
  }, 240_000);

  it("restart redis with a call in flight: the call goes on and nothing is lost", async () => {
    const c = await placeCall();
    await timed("restart redis (call in flight)", () => p.must(["restart", "redis"]));
    // Until the gateway has reconnected, the API answers 503 "redis unreachable" (by design): wait for it.
    await waitFor(
      async () => (await apiCall(api, "GET", `/api/calls/${c.callId}`)).status === 200,
      "API answers after the restart",
      30_000,
      200,
    );
    await hours(c);
    const v = await callView(api, c.callId);
    expect(v.call.state).toBe("in-progress");
    expect(v.transcript.filter((t) => t.role === "caller").map((t) => t.text)).toEqual(["what are your opening hours"]);
    await c.phone.say("no thanks");
    expect(await c.phone.waitForEnd(40_000)).toBe("completed");
    for (const s of ["gateway", "media", "tts", "agent"]) expect(await p.logs(s), s).toMatch(/redis reconnected/);
  }, 180_000);

  it("down removes every container and the network", async () => {
    await timed("down -v", () => p.must(["down", "-v", "--remove-orphans"], { timeoutMs: 120_000 }));
    expect(await p.containers()).toEqual([]);
    expect(
      (await must(["docker", "network", "ls", "--filter", `label=com.docker.compose.project=${p.name}`, "-q"])).trim(),
    ).toBe("");
  }, 180_000);
});
