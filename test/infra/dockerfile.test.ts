import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "@voicecall/testkit";
import { read, root } from "./infra-files";

// Offline lint of the Dockerfile and the two scripts it runs; `npm run test:docker` builds and runs it for real.
const text = read("Dockerfile");
const stages = [...text.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ image: m[1]!, name: m[2] }));
const finalStage = text.slice(text.lastIndexOf("\nFROM "));

describe("Dockerfile", () => {
  it("is multi-stage on node:20-bookworm-slim, installing production dependencies with npm ci", () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(stages[0]!.image).toBe("${NODE_IMAGE}");
    expect(stages.at(-1)!.name).toBe("runtime"); // compose builds target: runtime
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(finalStage).toMatch(/COPY --from=deps \/app\/node_modules/);
  });

  it("installs the speech tools the services spawn and cleans apt lists", () => {
    const apt = /apt-get install[^&]*/.exec(text)![0];
    for (const p of ["espeak-ng", "flite", "pocketsphinx", "pocketsphinx-en-us", "tini", "--no-install-recommends"])
      expect(apt).toContain(p);
    expect(text).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
  });

  it("runs as a non-root user under tini, with a HEALTHCHECK, and never ADDs remote files", () => {
    const user = /^USER\s+(\S+)/m.exec(finalStage)?.[1];
    expect(user).toBeDefined();
    expect(["root", "0", "0:0"]).not.toContain(user);
    expect(finalStage).toMatch(/^HEALTHCHECK .*\n?.*CMD \["node", "scripts\/healthcheck.mjs"\]/m);
    expect(finalStage).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "scripts\/docker-entry.sh"\]/m);
    expect(text).not.toMatch(/^ADD\s+https?:/im);
    expect(text).not.toMatch(/:latest\b/);
  });

  it("builds with the classic builder or BuildKit offline: no `# syntax=` frontend line", () => {
    expect(text).not.toMatch(/^#\s*syntax\s*=/im);
  });

  it("has build arguments for a registry mirror, an npm mirror, an extra CA, and Silero", () => {
    for (const a of ["NODE_IMAGE", "NPM_REGISTRY", "EXTRA_CA_CERT", "SILERO"])
      expect(text, a).toMatch(new RegExp(`^ARG ${a}=`, "m"));
    expect(text).toMatch(/NODE_EXTRA_CA_CERTS=/);
    expect(text).toMatch(/--registry "\$NPM_REGISTRY"/);
    // the lean default: onnxruntime-web (VAD_PROVIDER=silero only) is removed unless SILERO=true
    expect(text).toMatch(/if \[ "\$SILERO" != true \]; then rm -rf node_modules\/onnxruntime-web/);
  });

  it("exposes no port itself: one image, four services, and compose gives each container its own", () => {
    expect(text).not.toMatch(/^EXPOSE\b/m);
  });

  it(".dockerignore keeps node_modules, .git and .env out of the image", () => {
    const ignore = read(".dockerignore").split("\n");
    for (const p of ["**/node_modules", ".git", ".env"]) expect(ignore).toContain(p);
    expect(ignore).toContain("!.env.example");
  });

  it("needs no test files: .dockerignore leaves services' fakes and harnesses out, and no service source imports them", () => {
    expect(read(".dockerignore").split("\n")).toContain("services/*/test");
    const sources = readdirSync(join(root, "services"), { recursive: true, encoding: "utf8" }).filter(
      (f) => /^[^/]+\/src\/.*\.ts$/.test(f) && !f.endsWith(".test.ts"),
    );
    expect(sources.length).toBeGreaterThan(50);
    const importsTest = sources.filter((f) =>
      /from "(\.\.\/)+test\/|from "@voicecall\/[a-z-]+\/testing"/.test(read(join("services", f))),
    );
    expect(importsTest).toEqual([]);
  });
});

describe("scripts/docker-entry.sh", () => {
  const run = (env: Record<string, string>, args: string[] = []) =>
    spawnSync("sh", [join(root, "scripts", "docker-entry.sh"), ...args], {
      cwd: root,
      encoding: "utf8",
      env: { PATH: process.env.PATH, ...env },
    });

  it("refuses an unknown SERVICE with a one-line message", () => {
    const r = run({ SERVICE: "nope" });
    expect(r.status).toBe(64);
    expect(r.stderr).toMatch(/SERVICE must be one of gateway, media, tts, agent/);
  });

  it("runs a given command instead (docker run IMAGE <cmd>)", () => {
    const r = run({ SERVICE: "gateway" }, ["echo", "hello"]);
    expect(r.stdout).toBe("hello\n");
  });
});

describe("scripts/healthcheck.mjs", () => {
  // Async: the server under test lives in this process, so the event loop must keep running.
  const check = (env: Record<string, string>) =>
    new Promise<number | null>((resolve) => {
      spawn(process.execPath, [join(root, "scripts", "healthcheck.mjs")], {
        env: { PATH: process.env.PATH, ...env },
        stdio: "ignore",
      }).once("exit", (code) => resolve(code));
    });

  it("exits 0 when /healthz answers 200 on PORT, 1 otherwise", async () => {
    const port = await freePort();
    let status = 200;
    const srv = createServer((req, res) => {
      res.statusCode = req.url === "/healthz" ? status : 404;
      res.end();
    });
    await new Promise<void>((r) => srv.listen(port, "127.0.0.1", r));
    try {
      expect(await check({ PORT: String(port) })).toBe(0);
      status = 503;
      expect(await check({ PORT: String(port) })).toBe(1);
    } finally {
      srv.close();
    }
    expect(await check({ PORT: String(port) })).toBe(1); // nothing listening
  });
});
