import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "../..");

describe("scripts/init-env.sh", () => {
  it("writes .env from .env.example with fresh secrets, and never overwrites it", () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-init-env-"));
    mkdirSync(join(dir, "scripts"));
    copyFileSync(join(root, "scripts/init-env.sh"), join(dir, "scripts/init-env.sh"));
    copyFileSync(join(root, ".env.example"), join(dir, ".env.example"));
    const out = execFileSync("sh", [join(dir, "scripts/init-env.sh")], { encoding: "utf8" });
    const env = readFileSync(join(dir, ".env"), "utf8");
    const api = /^API_TOKEN=([0-9a-f]{64})$/m.exec(env)?.[1];
    expect(api).toBeDefined();
    expect(env).toMatch(/^STREAM_TOKEN_SECRET=[0-9a-f]{64}$/m);
    expect(/^STREAM_TOKEN_SECRET=(.*)$/m.exec(env)![1]).not.toBe(api);
    expect(out).toContain(`https://localhost/phone#token=${api}`);
    // Everything else is the example, line for line.
    const strip = (s: string) => s.split("\n").filter((l) => !/^(API_TOKEN|STREAM_TOKEN_SECRET)=/.test(l));
    expect(strip(env)).toEqual(strip(readFileSync(join(root, ".env.example"), "utf8")));
    writeFileSync(join(dir, ".env"), "API_TOKEN=mine\n");
    expect(execFileSync("sh", [join(dir, "scripts/init-env.sh")], { encoding: "utf8" })).toContain(".env exists");
    expect(readFileSync(join(dir, ".env"), "utf8")).toBe("API_TOKEN=mine\n");
  });
});
