import { beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  DEPLOY_VARIABLES,
  SERVICES,
  configVariables,
  generated,
  type ConfigVariable,
  type Service,
} from "../../scripts/config-docs";
import { cliSchema } from "@voicecall/cli";
import { compose, envExample, interpolations, read, root } from "./infra-files";

// One list of variables, four places that must agree: the services' zod config schemas (the truth),
// .env.example, docker-compose.yml and the README's configuration table.
describe("configuration variables agree across schemas, .env.example, compose and README", () => {
  let vars: ConfigVariable[];
  let perService: Partial<Record<Service, string[]>>;
  const example = envExample();
  const c = compose();
  const composeRefs = interpolations(read("docker-compose.yml").replace(/^\s*#.*$/gm, ""));

  beforeAll(async () => {
    ({ vars, perService } = await configVariables());
  });

  it("every service has a config schema", () => {
    for (const s of SERVICES)
      expect(existsSync(join(root, "services", s, "src", "config.ts")), `services/${s}/src/config.ts`).toBe(true);
    expect(Object.keys(perService).sort()).toEqual([...SERVICES].sort());
  });

  it(".env.example names exactly the variables the services and compose read", () => {
    const expected = new Set([...vars.map((v) => v.name), ...Object.keys(DEPLOY_VARIABLES)]);
    const missing = [...expected].filter((n) => !example.has(n));
    const unknown = [...example.keys()].filter((n) => !expected.has(n));
    expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
  });

  it("values written in .env.example are the schema defaults (blank = default)", () => {
    const wrong: string[] = [];
    for (const v of vars) {
      const e = example.get(v.name);
      if (!e || e.value === "" || v.default === undefined) continue;
      if (e.value !== v.default) wrong.push(`${v.name}: .env.example ${e.value} vs schema ${v.default}`);
    }
    expect(wrong).toEqual([]);
  });

  it("every variable compose interpolates is documented in .env.example, with the schema default", () => {
    const byName = new Map(vars.map((v) => [v.name, v]));
    for (const r of composeRefs) {
      expect(example.has(r.name), `${r.name} used in docker-compose.yml`).toBe(true);
      const def = byName.get(r.name)?.default;
      if (r.default && def !== undefined) expect(r.default, `compose default of ${r.name}`).toBe(def);
    }
    for (const name of Object.keys(DEPLOY_VARIABLES))
      expect(
        composeRefs.some((r) => r.name === name),
        `${name} in compose`,
      ).toBe(true);
  });

  it("compose hands each service exactly the variables its config reads (INSTANCE_ID stays per replica)", () => {
    // The gateway container also runs the ops CLI (`docker compose exec gateway voicecall doctor`).
    const cliOnly: Partial<Record<Service, string[]>> = { gateway: ["PUBLIC_URL_VIA"] };
    for (const s of SERVICES) {
      const given = Object.keys(c.services[s]!.environment ?? {})
        .filter((k) => k !== "SERVICE")
        .sort();
      const read = [...(perService[s] ?? []).filter((k) => k !== "INSTANCE_ID"), ...(cliOnly[s] ?? [])].sort();
      for (const k of cliOnly[s] ?? []) expect(Object.keys(cliSchema.shape), `${k} is read by the CLI`).toContain(k);
      expect(given, `environment of compose service ${s}`).toEqual(read);
      expect(c.services[s]!.environment!.SERVICE).toBe(s);
    }
  });

  it("required variables without a compose-provided value are blank in .env.example, to be filled in", () => {
    for (const v of vars.filter((x) => x.required)) {
      const fromCompose = SERVICES.every(
        (s) => !perService[s]?.includes(v.name) || !String(c.services[s]!.environment?.[v.name] ?? "").startsWith("${"),
      );
      if (fromCompose) continue; // NATS_URL, PUBLIC_URL, …: compose sets them
      expect(example.get(v.name), v.name).toEqual({ value: "", commented: false });
    }
  });

  it("generated parts (README table, .env.example tuning, compose env) are up to date, and lists every .env.example variable", async () => {
    for (const [file, [now, next]] of Object.entries(await generated()))
      expect(next, `${file} is stale: run \`npx tsx scripts/config-docs.ts\``).toBe(now);
    const readme = read("README.md");
    const inTable = new Set([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]));
    expect([...example.keys()].filter((n) => !inTable.has(n))).toEqual([]);
    expect([...inTable].filter((n) => !example.has(n!))).toEqual([]);
  });
});
