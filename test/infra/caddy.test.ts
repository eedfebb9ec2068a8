import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GATEWAY_PATHS, MEDIA_PATH, requireBinary } from "@voicecall/testkit";
import { read } from "./infra-files";

// caddy/Caddyfile targets the caddy:2 image (≥ 2.7). Directives newer than the local binary are checked in
// the text and removed before `caddy adapt`, so the rest is still validated by the real parser.
const NEWER: Record<string, [number, number]> = { stream_close_delay: [2, 7] };
const dir = mkdtempSync(join(tmpdir(), "vc-caddy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function localVersion(): [number, number] {
  requireBinary("caddy");
  const m = /v?(\d+)\.(\d+)/.exec(spawnSync("caddy", ["version"], { encoding: "utf8" }).stdout);
  return [Number(m![1]), Number(m![2])];
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function adapt(text: string, env: Record<string, string> = {}): { status: number | null; stderr: string; json?: Json } {
  const [maj, min] = localVersion();
  let src = text;
  for (const [directive, [M, m]] of Object.entries(NEWER))
    if (maj < M || (maj === M && min < m)) src = src.replace(new RegExp(`^\\s*${directive}\\b.*$`, "gm"), "");
  const file = join(dir, "Caddyfile");
  writeFileSync(file, src);
  const r = spawnSync("caddy", ["adapt", "--config", file, "--adapter", "caddyfile"], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: dir, ...env },
  });
  return { status: r.status, stderr: r.stderr, json: r.status === 0 ? (JSON.parse(r.stdout) as Json) : undefined };
}

/** The site's routes (inside the host-matching subroute). */
function siteRoutes(j: Json): Json[] {
  const server = j.apps.http.servers.srv0;
  return server.routes[0].handle[0].routes;
}
const handlerOf = (route: Json): Json => route.handle[0].routes[0].handle[0];

describe("caddy/Caddyfile", () => {
  const text = read("caddy/Caddyfile");

  it("adapts (real caddy parser) and serves PUBLIC_HOST, default localhost with tls internal", () => {
    const r = adapt(text);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const srv = r.json!.apps.http.servers.srv0;
    expect(srv.listen).toEqual([":443"]);
    expect(srv.routes[0].match).toEqual([{ host: ["localhost"] }]);
    expect(r.json!.apps.tls.automation.policies).toEqual([
      { subjects: ["localhost"], issuers: [{ module: "internal" }] },
    ]);
  });

  it("with PUBLIC_HOST=<domain> CADDY_TLS=acme it serves the domain with public certificates", () => {
    const r = adapt(text, { PUBLIC_HOST: "voice.example.com", CADDY_TLS: "acme" });
    expect(r.status).toBe(0);
    expect(r.json!.apps.http.servers.srv0.routes[0].match).toEqual([{ host: ["voice.example.com"] }]);
    expect(JSON.stringify(r.json!.apps.tls ?? {})).not.toMatch(/internal/);
  });

  it("rejects an unknown CADDY_TLS mode at start (a typo cannot silently change TLS)", () => {
    expect(adapt(text, { CADDY_TLS: "interal" }).status).not.toBe(0);
  });

  it("routes the gateway paths (same list as startStack) to gateway:3000 without rewriting path or Host", () => {
    const routes = siteRoutes(adapt(text).json!);
    const gw = routes.find((r) => r.match?.[0]?.path?.includes("/api/*"))!;
    expect(gw.match[0].path).toEqual([...GATEWAY_PATHS]);
    const h = handlerOf(gw);
    expect(h.handler).toBe("reverse_proxy");
    expect(h.upstreams).toEqual([{ dial: "gateway:3000" }]);
    expect(h.headers).toBeUndefined();
    const all = JSON.stringify(routes);
    expect(all).not.toMatch(/"handler":"rewrite"|strip_path_prefix|"Host"/);
  });

  it("balances /voice/stream over every media replica (dynamic A records) with passive health and retries", () => {
    const routes = siteRoutes(adapt(text).json!);
    const ws = routes.find((r) => r.match?.[0]?.path?.[0] === MEDIA_PATH)!;
    expect(ws.match[0].path).toEqual([MEDIA_PATH]);
    const h = handlerOf(ws);
    expect(h.dynamic_upstreams).toMatchObject({ source: "a", name: "media", port: "8080" });
    expect(h.load_balancing.selection_policy.policy).toBe("least_conn");
    expect(h.load_balancing.try_duration).toBeGreaterThan(0);
    expect(h.health_checks.passive.fail_duration).toBeGreaterThan(0);
    expect(h.health_checks.passive.unhealthy_status).toEqual([503]);
    expect(text).toMatch(/^\s*stream_close_delay \d+[smh]\s*$/m);
  });

  it("answers 404 for everything else", () => {
    const routes = siteRoutes(adapt(text).json!);
    const last = routes[routes.length - 1]!;
    expect(last.match).toBeUndefined();
    expect(handlerOf(last)).toMatchObject({ handler: "static_response", status_code: 404 });
  });
});
