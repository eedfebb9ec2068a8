import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devSecrets, readDotEnv } from "../../scripts/dev-secrets";
import { read, root } from "./infra-files";

/** One story for configuration between init-env.sh, `npm run dev`, the README and the docs. */
describe("dev configuration story", () => {
  it("dev takes its secrets from the environment, else from the .env init-env.sh wrote, else generates them, and says which", () => {
    const dir = mkdtempSync(join(tmpdir(), "vc-dev-env-"));
    mkdirSync(join(dir, "scripts"));
    copyFileSync(join(root, "scripts/init-env.sh"), join(dir, "scripts/init-env.sh"));
    copyFileSync(join(root, ".env.example"), join(dir, ".env.example"));
    const printed = execFileSync("sh", [join(dir, "scripts/init-env.sh")], { encoding: "utf8" });
    expect(printed).toMatch(/`npm run dev` uses this \.env's API_TOKEN/);
    const token = /#token=([0-9a-f]{64})/.exec(printed)![1]!;

    const dotenv = readDotEnv(join(dir, ".env"));
    const fromFile = devSecrets({}, dotenv);
    expect(fromFile.given.API_TOKEN).toBe(token);
    expect(fromFile.line).toBe(
      "from .env: API_TOKEN, STREAM_TOKEN_SECRET; generated for this run: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN",
    );
    const exported = devSecrets({ API_TOKEN: "x".repeat(20) }, dotenv);
    expect(exported.given.API_TOKEN).toBe("x".repeat(20));
    expect(exported.line).toMatch(/^from the environment: API_TOKEN; from \.env: STREAM_TOKEN_SECRET;/);
    expect(devSecrets({}, {}).line).toBe(
      "generated for this run: API_TOKEN, STREAM_TOKEN_SECRET, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN",
    );
    writeFileSync(join(dir, "q.env"), `# comment\nAPI_TOKEN="quoted-token-value"\nTWILIO_ACCOUNT_SID=\n`);
    expect(readDotEnv(join(dir, "q.env"))).toEqual({ API_TOKEN: "quoted-token-value" });
  });

  it("README's dev section starts with npm ci, says where logs go, and the docs read Redis at $REDIS_URL", () => {
    const readme = read("README.md");
    const dev = readme.slice(readme.indexOf("## Develop without Docker"), readme.indexOf("## Browser phone"));
    expect(dev.indexOf("npm ci")).toBeGreaterThan(-1);
    expect(dev.indexOf("npm ci")).toBeLessThan(dev.indexOf("npm run dev"));
    expect(dev).toMatch(/npm run dev 2>&1 \| tee tmp\/dev\.log/);
    for (const f of ["README.md", "docs/operations.md", "docs/architecture.md"]) {
      for (const l of read(f)
        .split("\n")
        .filter((x) => /^\s*redis-cli /.test(x)))
        expect(l, f).toMatch(/redis-cli -u "\$REDIS_URL" /);
    }
  });
});
