import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { STACK_FILE, SUBNET, swarmStack } from "../../scripts/swarm-stack";
import { compose, read } from "./infra-files";

type StackService = {
  image: string;
  environment?: Record<string, string>;
  ports?: { target: number; published: number; mode: string }[];
  deploy: { replicas?: string; endpoint_mode: string; placement?: { constraints: string[] } };
  configs?: { source: string; target: string }[];
};
const stack = parse(read(STACK_FILE)) as {
  services: Record<string, StackService>;
  networks: Record<string, { driver: string }>;
};
const c = compose();

describe("deploy/swarm/stack.yml (Docker Swarm; deployed for real by test/docker/swarm.test.ts)", () => {
  it("is what scripts/swarm-stack.ts makes of docker-compose.yml (regenerate: npx tsx scripts/swarm-stack.ts)", () => {
    expect(read(STACK_FILE)).toBe(swarmStack(read("docker-compose.yml")));
  });

  it("has compose's services with the same images, and each app service the same variables", () => {
    expect(Object.keys(stack.services).sort()).toEqual(Object.keys(c.services).sort());
    for (const [name, s] of Object.entries(c.services)) {
      expect(stack.services[name]!.image, name).toBe(s.image);
      expect(Object.keys(stack.services[name]!.environment ?? {}).sort(), name).toEqual(
        Object.keys(s.environment ?? {}).sort(),
      );
    }
  });

  it("needs no IPVS (DNS round robin, host-mode ports) and trusts the overlay subnet as Caddy's address", () => {
    for (const [name, s] of Object.entries(stack.services)) expect(s.deploy.endpoint_mode, name).toBe("dnsrr");
    expect(stack.services.caddy!.ports!.every((p) => p.mode === "host")).toBe(true);
    expect(stack.services.caddy!.ports!.map((p) => p.published)).toEqual([80, 443, 443]);
    expect(stack.services.caddy!.configs).toEqual([{ source: "caddyfile", target: "/etc/caddy/Caddyfile" }]);
    expect(stack.services.gateway!.environment!.TRUSTED_PROXIES).toBe(SUBNET);
    expect(stack.networks.voicecall!.driver).toBe("overlay");
  });

  it("scales media like compose (MEDIA_REPLICAS, default 2) and pins the services with volumes to one node", () => {
    expect(stack.services.media!.deploy.replicas).toBe("${MEDIA_REPLICAS:-2}");
    for (const name of ["nats", "redis", "caddy"])
      expect(stack.services[name]!.deploy.placement!.constraints, name).toEqual(["node.role == manager"]);
    for (const name of ["gateway", "media", "tts", "agent"])
      expect(stack.services[name]!.deploy.placement, name).toBeUndefined();
  });
});
