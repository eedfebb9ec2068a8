// deploy/swarm/stack.yml from docker-compose.yml: the same services, images, commands, environment and
// healthchecks, with what Swarm needs instead of what only compose has. `npx tsx scripts/swarm-stack.ts`
// rewrites the file; test/infra/swarm.test.ts fails when it is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Document, isScalar, parse, visit } from "yaml";

const root = join(fileURLToPath(import.meta.url), "../..");
export const STACK_FILE = "deploy/swarm/stack.yml";
/** The stack's overlay network; TRUSTED_PROXIES is this subnet (a Swarm task cannot have a fixed address). */
export const SUBNET = "172.29.90.0/24";
const DATA = ["nats", "redis", "caddy"];

type Service = Record<string, unknown> & { environment?: Record<string, string>; deploy?: Record<string, unknown> };

const HEADER = `# voicecall on Docker Swarm: docker-compose.yml's services as a stack (docs/operations.md "Docker Swarm").
# GENERATED from docker-compose.yml by scripts/swarm-stack.ts: edit that file (or the script), then run
# \`npx tsx scripts/swarm-stack.ts\`. Deploy with deploy/swarm/deploy.sh (reads .env like compose does).
# What differs from compose, and why:
# - endpoint_mode dnsrr everywhere: a service name resolves to its tasks' addresses (Caddy's \`dynamic a
#   media\` balances over them) and no virtual IP is needed (Swarm's VIPs and routing mesh need IPVS).
# - caddy publishes 80/443 in host mode on the node it runs on: the client's address reaches Caddy.
# - TRUSTED_PROXIES is the overlay subnet (${SUBNET}): tasks get addresses from it, never a fixed one.
# - nats, redis and caddy keep named volumes, so they are placed on one node (a manager by default).
# - the Caddyfile is a Swarm config; a changed Caddyfile needs a new CADDYFILE_VERSION.
# - depends_on does not exist in Swarm: services wait for NATS and Redis themselves (logged retries).
`;

export function swarmStack(composeText: string): string {
  const c = parse(composeText, { merge: true }) as {
    services: Record<string, Service>;
    volumes: Record<string, unknown>;
  };
  const services: Record<string, Service> = {};
  for (const [name, s] of Object.entries(c.services)) {
    // Compose-only (build, restart, depends_on, expose) or replaced below (ports, networks, deploy).
    const {
      build: _b,
      restart: _r,
      depends_on: _d,
      expose: _e,
      ports: _p,
      networks: _n,
      deploy,
      volumes,
      ...keep
    } = s as Service & Record<string, unknown>;
    const out: Service = { ...keep };
    if (out.environment?.TRUSTED_PROXIES) out.environment = { ...out.environment, TRUSTED_PROXIES: SUBNET };
    if (name === "caddy") {
      out.ports = ["80:80/tcp", "443:443/tcp", "443:443/udp"].map((p) => {
        const [published, rest] = p.split(":");
        const [target, protocol] = rest!.split("/");
        return { target: Number(target), published: Number(published), protocol, mode: "host" };
      });
      out.configs = [{ source: "caddyfile", target: "/etc/caddy/Caddyfile" }];
      out.volumes = (volumes as string[]).filter((v) => !v.includes("Caddyfile"));
      out.networks = { voicecall: { aliases: ["${PUBLIC_HOST:-localhost}"] } };
    } else {
      if (volumes) out.volumes = volumes;
      out.networks = ["voicecall"];
    }
    out.deploy = {
      ...(deploy?.replicas !== undefined ? { replicas: deploy.replicas } : {}),
      endpoint_mode: "dnsrr",
      restart_policy: { condition: "any", delay: "2s" },
      ...(DATA.includes(name) ? { placement: { constraints: ["node.role == manager"] } } : {}),
    };
    services[name] = out;
  }
  const stack = {
    version: "3.8",
    services,
    networks: { voicecall: { driver: "overlay", ipam: { config: [{ subnet: SUBNET }] } } },
    volumes: c.volumes,
    configs: { caddyfile: { name: "voicecall_caddyfile_${CADDYFILE_VERSION:-1}", file: "../../caddy/Caddyfile" } },
  };
  // YAML 1.1 output: the docker CLI reads 1.1, where a bare `yes` would be a boolean.
  const doc = new Document(stack, { version: "1.1" });
  visit(doc, {
    Seq(_k, seq) {
      if (seq.items.every((i) => isScalar(i))) seq.flow = true;
    },
  });
  return HEADER + doc.toString({ lineWidth: 0 });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(join(root, STACK_FILE), swarmStack(readFileSync(join(root, "docker-compose.yml"), "utf8")));
  process.stdout.write(`wrote ${STACK_FILE}\n`);
}
