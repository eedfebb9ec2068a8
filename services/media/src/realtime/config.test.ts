import { describe, expect, it } from "vitest";
import { ConfigError } from "@voicecall/config";
import { parseMediaConfig } from "../config";

const base = { PUBLIC_URL: "https://voice.example.com", STREAM_TOKEN_SECRET: "0123456789abcdef0123" };

describe("realtime config", () => {
  it("defaults: OpenAI's GA Realtime endpoint, pcmu, server VAD", () => {
    const c = parseMediaConfig(base);
    expect(c).toMatchObject({
      REALTIME_PROVIDER: "openai",
      REALTIME_URL: "wss://api.openai.com/v1/realtime",
      REALTIME_API_SHAPE: "ga",
      REALTIME_VAD: "server_vad",
      REALTIME_VAD_SILENCE_MS: 500,
    });
  });

  it.each([
    ["REALTIME_URL", "https://api.openai.com/v1/realtime"],
    ["REALTIME_PROVIDER", "gemini"],
    ["REALTIME_API_SHAPE", "v2"],
    ["REALTIME_VAD", "energy"],
    ["REALTIME_VAD_THRESHOLD", "1.5"],
    ["REALTIME_VAD_SILENCE_MS", "-5"],
    ["REALTIME_VOICE", "a voice with spaces"],
    ["REALTIME_AUTH_HEADER", "basic"],
  ])("a bad %s is one line naming it", (name, value) => {
    let err: unknown;
    try {
      parseMediaConfig({ ...base, [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toMatch(new RegExp(`^config: ${name} is invalid: [^\\n]+$`));
  });
});
