import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const main = fileURLToPath(new URL("../../services/media/src/main.ts", import.meta.url));
const base = {
  PATH: process.env.PATH,
  PUBLIC_URL: "https://voice.example.com",
  STREAM_TOKEN_SECRET: "0123456789abcdef0123",
  NATS_URL: "nats://127.0.0.1:1",
  REDIS_URL: "redis://127.0.0.1:1",
};

// The media process itself, not only its parser: a bad realtime value stops it before it connects to
// anything, with one line on stderr naming the variable (and nothing of the key).
describe("media process: a bad realtime setting", () => {
  it.each([
    ["REALTIME_URL", "https://api.openai.com/v1/realtime"],
    ["REALTIME_VAD_THRESHOLD", "2"],
  ])(
    "%s stops it with one line naming the variable",
    (name, value) => {
      const r = spawnSync(process.execPath, ["--import", "tsx", main], {
        env: { ...base, REALTIME_API_KEY: "sk-do-not-print-0123456789", [name]: value },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status).toBe(1);
      const lines = r.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^config: ${name} is invalid: `));
      expect(r.stderr + r.stdout).not.toContain("sk-do-not-print");
    },
    90_000,
  );
});
