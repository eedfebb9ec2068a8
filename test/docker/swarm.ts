// The Swarm stack as a user deploys it (`init-env`, `deploy/swarm/deploy.sh`), driven from the host for
// test/docker/swarm.test.ts: a single-node swarm on the test's engine, the project's images.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localExtraCa, must, root, sh } from "./compose";

/** voicecall:local, built with the classic builder (as compose v1 does) unless the engine has it. */
export async function ensureAppImage(): Promise<string> {
  if ((await sh(["docker", "image", "inspect", "voicecall:local"])).code === 0) return "voicecall:local: present";
  const args = ["docker", "build", "--target", "runtime", "-t", "voicecall:local"];
  const ca = process.env.EXTRA_CA_CERT ?? localExtraCa();
  if (ca) args.push("--build-arg", `EXTRA_CA_CERT=${ca}`);
  if (process.env.NPM_REGISTRY) args.push("--build-arg", `NPM_REGISTRY=${process.env.NPM_REGISTRY}`);
  await must([...args, "."], { cwd: root, timeoutMs: 900_000, env: { DOCKER_BUILDKIT: "0" } });
  return "voicecall:local: built";
}

/**
 * A swarm to deploy on: the engine's own if it is a manager already, else `docker swarm init`. Also
 * the host's address as containers on an overlay network see it: the gateway of `docker_gwbridge`
 * (created here, as Docker documents, if the engine has none yet). `leave` undoes what was done here.
 */
export async function ensureSwarm(): Promise<{ initialised: boolean; hostIp: string; leave: () => Promise<void> }> {
  const state = (
    await must(["docker", "info", "--format", "{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}"])
  ).trim();
  let initialised = false;
  if (state.startsWith("inactive/")) {
    await must(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"]);
    initialised = true;
  } else if (state !== "active/true") throw new Error(`this engine is in a swarm but not a manager (${state})`);
  const madeBridge = (await sh(["docker", "network", "inspect", "docker_gwbridge"])).code !== 0;
  if (madeBridge) {
    await must([
      "docker",
      "network",
      "create",
      "--opt",
      "com.docker.network.bridge.name=docker_gwbridge",
      "--opt",
      "com.docker.network.bridge.enable_icc=false",
      "--opt",
      "com.docker.network.bridge.enable_ip_masquerade=true",
      "docker_gwbridge",
    ]);
  }
  const hostIp = (
    await must(["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "docker_gwbridge"])
  ).trim();
  return {
    initialised,
    hostIp,
    leave: async () => {
      if (initialised) await sh(["docker", "swarm", "leave", "--force"]);
      if (madeBridge) await sh(["docker", "network", "rm", "docker_gwbridge"]);
    },
  };
}

/** A user's checkout of the Swarm files in a temp directory, deployed as stack `name`. */
export class SwarmProject {
  readonly dir = mkdtempSync(join(tmpdir(), "vc-swarm-"));
  constructor(readonly name: string) {
    for (const d of ["deploy/swarm", "caddy", "scripts"]) mkdirSync(join(this.dir, d), { recursive: true });
    for (const f of [
      "deploy/swarm/stack.yml",
      "deploy/swarm/deploy.sh",
      "caddy/Caddyfile",
      ".env.example",
      "scripts/init-env.sh",
    ])
      copyFileSync(join(root, f), join(this.dir, f));
  }

  async init(vars: Record<string, string>): Promise<Record<string, string>> {
    await must(["sh", "scripts/init-env.sh"], { cwd: this.dir });
    let text = readFileSync(join(this.dir, ".env"), "utf8");
    for (const [k, v] of Object.entries(vars)) {
      const re = new RegExp(`^${k}=.*$`, "m");
      text = re.test(text) ? text.replace(re, `${k}=${v}`) : `${text}\n${k}=${v}\n`;
    }
    writeFileSync(join(this.dir, ".env"), text);
    const out: Record<string, string> = {};
    for (const m of text.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)) out[m[1]!] = m[2]!;
    return out;
  }

  deploy(): Promise<string> {
    return must(["bash", "deploy/swarm/deploy.sh", this.name], { cwd: this.dir, timeoutMs: 180_000 });
  }

  /** `name → "running/desired"` of every service of the stack. */
  async replicas(): Promise<Record<string, string>> {
    const out = await must(["docker", "stack", "services", this.name, "--format", "{{.Name}} {{.Replicas}}"]);
    return Object.fromEntries(
      out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" "))
        .map(([n, r]) => [n!.slice(this.name.length + 1), r!]),
    );
  }

  /** Running containers of the stack: id, service, docker's status text. */
  async containers(): Promise<{ id: string; service: string; status: string }[]> {
    const out = await must([
      "docker",
      "ps",
      "--filter",
      `label=com.docker.stack.namespace=${this.name}`,
      "--format",
      '{{.ID}}\t{{.Label "com.docker.swarm.service.name"}}\t{{.Status}}',
    ]);
    return out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("\t"))
      .map(([id, service, status]) => ({ id: id!, service: service!.slice(this.name.length + 1), status: status! }));
  }

  async remove(): Promise<void> {
    await sh(["docker", "stack", "rm", this.name], { timeoutMs: 120_000 });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
