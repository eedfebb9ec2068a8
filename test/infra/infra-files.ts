// Readers for the deployment files, shared by the test/infra tests.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { root } from "../../scripts/config-docs";

export { root };
export const read = (file: string) => readFileSync(join(root, file), "utf8");

export interface ComposeService {
  image?: string;
  build?: { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  deploy?: { replicas?: number | string };
  container_name?: string;
  stop_grace_period?: string;
  networks?: Record<string, { aliases?: string[] }>;
}
export interface Compose {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml as written (YAML merge keys resolved, `${…}` not interpolated). */
export const compose = (): Compose => parse(read("docker-compose.yml"), { merge: true }) as Compose;

/** `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?err}` references in a string. */
export function interpolations(s: string): { name: string; default?: string }[] {
  return [...s.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?[-?]([^}]*))?\}/g)].map((m) => ({ name: m[1]!, default: m[2] }));
}

/** Interpolate with an empty environment (every default applies), as compose does without .env. */
export const withDefaults = (s: string) =>
  s.replace(/\$\{([A-Z][A-Z0-9_]*)(?::?-([^}]*))?\}/g, (_m, _n, d: string | undefined) => d ?? "");

/** Variables in .env.example: `NAME=value` lines and documented-but-commented `# NAME=value` lines. */
export function envExample(): Map<string, { value: string; commented: boolean }> {
  const out = new Map<string, { value: string; commented: boolean }>();
  for (const m of read(".env.example").matchAll(/^(# )?([A-Z][A-Z0-9_]*)=(.*)$/gm)) {
    if (out.has(m[2]!)) throw new Error(`.env.example names ${m[2]} twice`);
    out.set(m[2]!, { value: m[3]!, commented: !!m[1] });
  }
  return out;
}
