import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary } from "@voicecall/testkit";
import { compose, read, root, withDefaults } from "./infra-files";

const APP = ["gateway", "media", "tts", "agent"] as const;
const PORTS = { gateway: "3000", media: "8080", tts: "8081", agent: "8082" } as const;
const c = compose();
const svc = (n: string) => {
  const s = c.services[n];
  if (!s) throw new Error(`docker-compose.yml has no service ${n}`);
  return s;
};

describe("docker-compose.yml", () => {
  it("is valid for docker-compose (offline `config -q`), without a top-level name", () => {
    requireBinary("docker-compose");
    // With .env.example as the environment (not a developer's .env).
    const r = spawnSync("docker-compose", ["-f", "docker-compose.yml", "--env-file", ".env.example", "config", "-q"], {
      cwd: root,
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(c.name).toBeUndefined();
  });

  it("the validator does reject a broken file (so the check above can fail)", () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-compose-"));
    try {
      writeFileSync(
        join(dir, "docker-compose.yml"),
        read("docker-compose.yml").replace("\n  media:\n", "\n  media:\n    bogus_key: 1\n"),
      );
      const r = spawnSync(
        "docker-compose",
        ["-f", "docker-compose.yml", "--env-file", join(root, ".env.example"), "config", "-q"],
        { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH } },
      );
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/bogus_key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has exactly the seven services", () => {
    expect(Object.keys(c.services).sort()).toEqual(["agent", "caddy", "gateway", "media", "nats", "redis", "tts"]);
  });

  it("nats runs JetStream with monitoring and a wget /healthz check", () => {
    const n = svc("nats");
    expect(n.image).toBe("nats:2-alpine");
    expect(n.command).toEqual(expect.arrayContaining(["-js", "-m", "8222"]));
    expect(n.healthcheck!.test).toEqual(["CMD", "wget", "-qO-", "http://127.0.0.1:8222/healthz"]);
  });

  it("redis keeps an AOF on a volume and is checked for PONG", () => {
    const r = svc("redis");
    expect(r.image).toBe("redis:7-alpine");
    expect(r.command!.join(" ")).toMatch(/--appendonly yes/);
    expect(r.volumes).toContain("redis_data:/data");
    expect(r.healthcheck!.test).toEqual(["CMD-SHELL", "redis-cli ping | grep -q PONG"]);
  });

  it("caddy publishes 80/443, mounts the Caddyfile and its volumes, and answers to PUBLIC_HOST", () => {
    const k = svc("caddy");
    expect(k.image).toBe("caddy:2");
    expect(k.ports).toEqual(expect.arrayContaining(["80:80", "443:443"]));
    expect(k.volumes).toEqual(
      expect.arrayContaining(["./caddy/Caddyfile:/etc/caddy/Caddyfile:ro", "caddy_data:/data", "caddy_config:/config"]),
    );
    expect(existsSync(join(root, "caddy", "Caddyfile"))).toBe(true);
    expect(k.environment!.PUBLIC_HOST).toBe("${PUBLIC_HOST:-localhost}");
    expect(k.networks!.default!.aliases).toEqual(["${PUBLIC_HOST:-localhost}"]);
    expect(k.depends_on).toEqual({
      gateway: { condition: "service_healthy" },
      media: { condition: "service_healthy" },
    });
  });

  it("every app service is the one image, waits for healthy nats and redis, and has its port", () => {
    for (const n of APP) {
      const s = svc(n);
      expect(s.build, n).toEqual({ context: ".", target: "runtime" });
      expect(s.image, n).toBe("voicecall:${VOICECALL_TAG:-local}");
      expect(s.depends_on, n).toEqual({
        nats: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
      });
      expect(s.environment!.PORT, n).toBe(PORTS[n]);
      expect(s.expose, n).toEqual([PORTS[n]]);
      expect(s.environment!.NATS_URL, n).toBe("nats://nats:4222");
      expect(s.environment!.REDIS_URL, n).toBe("redis://redis:6379");
      expect(s.healthcheck, `${n}: the image's HEALTHCHECK applies`).toBeUndefined();
    }
  });

  it("every service_healthy dependency has a healthcheck (compose's own, or the image's)", () => {
    const imageHealthcheck = /^HEALTHCHECK /m.test(read("Dockerfile"));
    for (const [name, s] of Object.entries(c.services)) {
      for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
        expect(d.condition, `${name} → ${dep}`).toBe("service_healthy");
        const target = svc(dep);
        expect(!!target.healthcheck || (!!target.build && imageHealthcheck), `${dep} needs a healthcheck`).toBe(true);
      }
    }
  });

  it("media scales: replicas ≥ 2, no container_name, no host ports, drains within stop_grace_period", () => {
    const m = svc("media");
    expect(Number(withDefaults(String(m.deploy!.replicas)))).toBeGreaterThanOrEqual(2);
    expect(m.container_name).toBeUndefined();
    expect(m.ports).toBeUndefined();
    expect(m.stop_grace_period).toBe("60s");
    expect(Number(m.environment!.SHUTDOWN_TIMEOUT_MS)).toBeLessThan(60_000);
  });

  it("only caddy publishes host ports, and the services get the public https URL from PUBLIC_HOST", () => {
    for (const [name, s] of Object.entries(c.services)) if (name !== "caddy") expect(s.ports, name).toBeUndefined();
    for (const n of ["gateway", "media"])
      expect(withDefaults(svc(n).environment!.PUBLIC_URL!)).toBe("https://localhost");
  });

  it("the network has a fixed subnet, Caddy a fixed address outside the dynamic range, and the gateway trusts exactly Caddy", () => {
    const net = (
      c as unknown as { networks: { default: { ipam: { config: { subnet: string; ip_range: string }[] } } } }
    ).networks.default.ipam.config[0]!;
    const caddyIp = (svc("caddy").networks!.default as { ipv4_address?: string }).ipv4_address!;
    const inCidr = (ip: string, cidr: string) => {
      const [base, bits] = cidr.split("/");
      const n = (a: string) => a.split(".").reduce((x, o) => x * 256 + Number(o), 0);
      const size = 2 ** (32 - Number(bits));
      return Math.floor(n(ip) / size) === Math.floor(n(base!) / size);
    };
    expect(inCidr(caddyIp, net.subnet)).toBe(true);
    expect(inCidr(caddyIp, net.ip_range)).toBe(false);
    expect(svc("gateway").environment!.TRUSTED_PROXIES).toBe(caddyIp);
  });

  it("declares every named volume it uses", () => {
    const used = Object.values(c.services).flatMap((s) =>
      (s.volumes ?? []).map((v) => v.split(":")[0]!).filter((v) => !v.startsWith(".")),
    );
    expect(Object.keys(c.volumes ?? {}).sort()).toEqual([...new Set(used)].sort());
  });
});
