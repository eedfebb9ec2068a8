import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { startSimulator, type Phone, type Simulator } from "@voicecall/twilio-sim";
import { freePort, waitFor } from "@voicecall/testkit";
import { apiCall, callView, ownerOf, toHost, voiced, type Api } from "./calls";
import { https, must, root, sh } from "./compose";
import { ensureAppImage, ensureSwarm, SwarmProject } from "./swarm";

/**
 * The multi-host deployment on Docker Swarm, for real on one node: `docker swarm init`, the project's
 * images, `deploy/swarm/deploy.sh` (`docker stack deploy` of deploy/swarm/stack.yml), then phone calls
 * from the Twilio simulator through Caddy to two media replicas, a media task killed with a call on
 * it, and `docker stack rm`. Figures go to the report printed at the end.
 */
const STACK = "vcswarm";
const PUBLIC_HOST = "voice.example.test";
const FROM = "+15005550006";
const report: [string, string][] = [];
const t0 = Date.now();
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t = Date.now();
  const r = await fn();
  report.push([what, `${((Date.now() - t) / 1000).toFixed(1)} s`]);
  return r;
}

let p: SwarmProject | undefined;
let swarm: Awaited<ReturnType<typeof ensureSwarm>> | undefined;
let sim: Simulator | undefined;
let api: Api;
const phones: Phone[] = [];

/** Every service at its replica count, every container with a healthcheck healthy, Caddy serving. */
async function converged(media: number): Promise<void> {
  await waitFor(
    async () => {
      const r = await p!.replicas();
      if (r.media !== `${media}/${media}` || Object.values(r).some((x) => x.split("/")[0] !== x.split("/")[1]))
        return false;
      const cs = await p!.containers();
      if (cs.some((c) => c.status.includes("health") && !c.status.includes("(healthy)"))) return false;
      const res = await https("https://127.0.0.1/phone", {
        servername: PUBLIC_HOST,
        headers: { host: PUBLIC_HOST },
      }).catch(() => undefined);
      return res?.status === 200;
    },
    "stack converged",
    300_000,
    1000,
  );
}

beforeAll(async () => {
  const v = await sh(["docker", "version", "--format", "{{.Server.Version}}"]);
  if (v.code !== 0)
    throw new Error(
      `no Docker engine answers (DOCKER_HOST=${process.env.DOCKER_HOST ?? "default"}): ${v.err.trim()}\n.ci/run starts one; see README "Test"`,
    );
  await timed("base images (pull, or stand-ins)", () =>
    must(["bash", join(root, "test/docker/stand-ins/build.sh")], { timeoutMs: 600_000 }),
  );
  report.push(["app image", await ensureAppImage()]);
  swarm = await timed("swarm", () => ensureSwarm());
  report.push(["swarm", swarm.initialised ? "docker swarm init (left again at the end)" : "the engine's own"]);

  // The simulator's REST port is on the host, where the gateway's overlay network leads (docker_gwbridge).
  const port = await freePort();
  const accountSid = `AC${randomBytes(16).toString("hex")}`;
  const authToken = randomBytes(16).toString("hex");
  p = new SwarmProject(STACK);
  const env = await p.init({
    PUBLIC_HOST,
    TWILIO_ACCOUNT_SID: accountSid,
    TWILIO_AUTH_TOKEN: authToken,
    TWILIO_FROM_NUMBER: FROM,
    TWILIO_API_BASE_URL: `http://${swarm.hostIp}:${port}`,
  });
  api = { origin: `https://${PUBLIC_HOST}`, token: env.API_TOKEN!, ca: Buffer.alloc(0) };
  await timed("stack deploy → converged (2 media)", async () => {
    await p!.deploy();
    await converged(2);
  });
  const caddy = (await p.containers()).find((c) => c.service === "caddy")!;
  api.ca = Buffer.from(await must(["docker", "exec", caddy.id, "cat", "/data/caddy/pki/authorities/local/root.crt"]));
  sim = await startSimulator({
    host: swarm.hostIp,
    port,
    accountSid,
    authToken,
    ca: api.ca,
    route: toHost,
    numbers: { [FROM]: `https://${PUBLIC_HOST}/voice/webhook` },
  });
  await new Promise((r) => setTimeout(r, 6000)); // Caddy's `dynamic a` refresh (5 s) sees both media tasks
}, 1_500_000);

afterAll(async () => {
  await Promise.all(phones.filter((ph) => ph.status === "in-progress").map((ph) => ph.hangup().catch(() => undefined)));
  await sim?.stop();
  await p?.remove();
  await swarm?.leave();
  report.push(["total", `${((Date.now() - t0) / 1000).toFixed(0)} s`]);
  console.log(`\nswarm run on this machine:\n${report.map(([k, v]) => `  ${k.padEnd(38)} ${v}`).join("\n")}\n`);
}, 180_000);

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
/** The caller asks for the opening hours; the agent's answer is in the transcript and heard. */
const hours = async (c: { callId: string; phone: Phone }) => {
  const before = voiced(c.phone.heard().audio);
  const said = () =>
    callView(api, c.callId).then(
      (v) => v.transcript.filter((t) => t.role === "agent" && /open Monday to Friday/.test(t.text)).length,
    );
  const n = await said();
  await c.phone.say("what are your opening hours");
  await waitFor(async () => (await said()) > n, "reply to the opening hours", 40_000, 200);
  await waitFor(() => voiced(c.phone.heard().audio) > before + 1000, "reply heard", 30_000, 100);
};

describe(`docker stack deploy (deploy/swarm/stack.yml), PUBLIC_HOST=${PUBLIC_HOST}`, () => {
  it("every service runs as a Swarm service of the stack, media with 2 replicas, Caddy's ports on the host", async () => {
    const r = await p!.replicas();
    expect(Object.keys(r).sort()).toEqual(["agent", "caddy", "gateway", "media", "nats", "redis", "tts"]);
    expect(r.media).toBe("2/2");
    const ports = await must(["docker", "service", "inspect", "-f", "{{json .Endpoint.Ports}}", `${STACK}_caddy`]);
    expect(JSON.parse(ports)).toEqual(
      expect.arrayContaining([expect.objectContaining({ TargetPort: 443, PublishedPort: 443, PublishMode: "host" })]),
    );
  });

  it("phone calls through Caddy: greeting and reply on each, streams balanced over both media tasks", async () => {
    const calls = [];
    for (let i = 0; i < 4; i++) calls.push(await placeCall());
    await Promise.all(calls.map((c) => hours(c)));
    const owners = await Promise.all(calls.map(async (c) => ownerOf(await callView(api, c.callId))!));
    const media = (await p!.containers()).filter((c) => c.service === "media").map((c) => c.id.slice(0, 12));
    const per = new Map<string, number>();
    for (const o of owners) per.set(o, (per.get(o) ?? 0) + 1);
    report.push(["4 streams over 2 media tasks", [...per.values()].sort().join("/")]);
    expect(new Set(owners)).toEqual(new Set(media));
    expect([...per.values()].sort()).toEqual([2, 2]);
    await Promise.all(calls.map((c) => c.phone.hangup()));
  }, 240_000);

  it("kill -9 of the media task carrying a call: the call goes on through the other; Swarm starts a new task", async () => {
    const c = await placeCall();
    const owner = ownerOf(await callView(api, c.callId))!;
    await timed("kill -9 media task → call on the other", async () => {
      await must(["docker", "kill", "-s", "KILL", owner]);
      await c.phone.waitForStream(2, 30_000);
      await waitFor(async () => (ownerOf(await callView(api, c.callId)) ?? owner) !== owner, "new owner", 30_000, 200);
    });
    await hours(c);
    expect((await callView(api, c.callId)).call.state).toBe("in-progress");
    await c.phone.say("no thanks");
    expect(await c.phone.waitForEnd(40_000)).toBe("completed");
    await timed("Swarm replaced the task → 2/2 healthy", () => converged(2));
    expect((await p!.containers()).filter((x) => x.service === "media").map((x) => x.id.slice(0, 12))).not.toContain(
      owner,
    );
  }, 360_000);

  it("docker stack rm removes every service, container and the stack's network", async () => {
    await timed("stack rm", () => must(["docker", "stack", "rm", STACK]));
    await waitFor(async () => (await p!.containers()).length === 0, "containers gone", 120_000, 1000);
    await waitFor(
      async () =>
        (
          await must(["docker", "network", "ls", "--filter", `label=com.docker.stack.namespace=${STACK}`, "-q"])
        ).trim() === "",
      "network gone",
      60_000,
      1000,
    );
    expect(
      (await sh(["docker", "stack", "services", STACK])).out
        .trim()
        .split("\n")
        .filter((l) => l && !l.startsWith("ID")).length,
    ).toBe(0);
  }, 180_000);
});
