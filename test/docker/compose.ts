// The compose stack as a user runs it (`init-env` + `docker compose up -d`), driven from the host for
// test/docker/stack.test.ts. Needs a Docker engine (DOCKER_HOST or the default socket).
import { execFile, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { root } from "../../scripts/config-docs";

const exec = promisify(execFile);
export { root };

/** `docker compose` (v2) where the CLI has it, else `docker-compose` (v1): README says both work. */
export function composeCommand(): string[] {
  const v2 = spawnSync("docker", ["compose", "version"], { encoding: "utf8" });
  if (v2.status === 0) return ["docker", "compose"];
  const v1 = spawnSync("docker-compose", ["version", "--short"], { encoding: "utf8" });
  if (v1.status === 0) return ["docker-compose"];
  throw new Error("neither `docker compose` nor `docker-compose` works here");
}

export async function sh(
  cmd: string[],
  o: { cwd?: string; timeoutMs?: number; env?: Record<string, string | undefined> } = {},
): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await exec(cmd[0]!, cmd.slice(1), {
      cwd: o.cwd,
      timeout: o.timeoutMs ?? 300_000,
      maxBuffer: 64 << 20,
      env: { ...process.env, ...o.env },
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof x.code === "number" ? x.code : 1, out: x.stdout ?? "", err: x.stderr ?? x.message };
  }
}

export async function must(cmd: string[], o: Parameters<typeof sh>[1] = {}): Promise<string> {
  const r = await sh(cmd, o);
  if (r.code !== 0) throw new Error(`${cmd.join(" ")} → exit ${r.code}\n${r.err.slice(-3000)}\n${r.out.slice(-2000)}`);
  return r.out;
}

/** The machine's locally added CA certificates (a TLS-intercepting proxy's), for the EXTRA_CA_CERT build arg. */
export function localExtraCa(): string {
  const dir = "/usr/local/share/ca-certificates";
  if (!existsSync(dir)) return "";
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".crt"))
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .join("\n");
}

/**
 * A user's checkout of the deployment files in a temp directory (so the developer's own .env is never
 * touched), run as compose project `voicecall-test`.
 */
export class Project {
  readonly dir = mkdtempSync(join(tmpdir(), "vc-compose-"));
  readonly name = "voicecall-test";
  readonly compose = composeCommand();

  constructor() {
    mkdirSync(join(this.dir, "scripts"));
    mkdirSync(join(this.dir, "caddy"));
    for (const f of ["docker-compose.yml", ".env.example", "caddy/Caddyfile", "scripts/init-env.sh"])
      copyFileSync(join(root, f), join(this.dir, f));
  }

  run(args: string[], o: { timeoutMs?: number } = {}) {
    return sh([...this.compose, "-p", this.name, ...args], { cwd: this.dir, timeoutMs: o.timeoutMs });
  }

  async must(args: string[], o: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(args, o);
    if (r.code !== 0)
      throw new Error(`compose ${args.join(" ")} → exit ${r.code}\n${r.err.slice(-3000)}\n${r.out.slice(-2000)}`);
    return r.out;
  }

  env(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of readFileSync(join(this.dir, ".env"), "utf8").matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm))
      out[m[1]!] = m[2]!;
    return out;
  }

  /** Set variables in .env (replacing their lines), as a user edits it. */
  setEnv(vars: Record<string, string>): void {
    let text = readFileSync(join(this.dir, ".env"), "utf8");
    for (const [k, v] of Object.entries(vars)) {
      const re = new RegExp(`^${k}=.*$`, "m");
      text = re.test(text) ? text.replace(re, `${k}=${v}`) : `${text}\n${k}=${v}\n`;
    }
    writeFileSync(join(this.dir, ".env"), text);
  }

  /** Containers of this project: name, service, state/health, id. */
  async containers(): Promise<{ id: string; name: string; service: string; status: string }[]> {
    const out = await must([
      "docker",
      "ps",
      "-a",
      "--filter",
      `label=com.docker.compose.project=${this.name}`,
      "--format",
      '{{.ID}}\t{{.Names}}\t{{.Label "com.docker.compose.service"}}\t{{.Status}}',
    ]);
    return out
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [id, name, service, status] = l.split("\t");
        return { id: id!, name: name!, service: service!, status: status! };
      });
  }

  async logs(service: string): Promise<string> {
    return (await this.run(["logs", "--no-color", service])).out;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** HTTPS to the stack through Caddy on this host's 443 (Caddy's local CA, or none while it is not known yet). */
export function https(
  url: string,
  o: {
    method?: string;
    body?: unknown;
    token?: string;
    ca?: Buffer;
    headers?: Record<string, string>;
    form?: string;
    servername?: string;
  } = {},
): Promise<{ status: number; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = o.form ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.body !== undefined) headers["content-type"] = "application/json";
    if (o.form !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const req = request(
      url,
      {
        method: o.method ?? "GET",
        ca: o.ca,
        rejectUnauthorized: !!o.ca,
        servername: o.servername,
        headers,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out: ${url}`)));
    req.on("error", reject);
    req.end(payload);
  });
}
