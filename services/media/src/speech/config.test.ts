import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseConfig } from "@voicecall/config";
import { speechConfigSchema } from "./config";

describe("speechConfigSchema", () => {
  it("defaults to WebRTC VAD, pocketsphinx, 600 ms endpointing", () => {
    expect(parseConfig(speechConfigSchema, {})).toMatchObject({
      VAD_PROVIDER: "webrtc",
      STT_PROVIDER: "pocketsphinx",
      ENDPOINT_SILENCE_MS: 600,
      VAD_ON_MS: 100,
      STT_NOISE_RMS: 0.0005,
    });
  });

  it("accepts VAD_PROVIDER=silero with SILERO_THRESHOLD (default 0.5)", () => {
    expect(parseConfig(speechConfigSchema, { VAD_PROVIDER: "silero" })).toMatchObject({
      VAD_PROVIDER: "silero",
      SILERO_THRESHOLD: 0.5,
    });
    expect(parseConfig(speechConfigSchema, { SILERO_THRESHOLD: "0.7" }).SILERO_THRESHOLD).toBe(0.7);
    expect(() => parseConfig(speechConfigSchema, { SILERO_THRESHOLD: "2" })).toThrow(/SILERO_THRESHOLD/);
    expect(() => parseConfig(speechConfigSchema, { VAD_PROVIDER: "cobra" })).toThrow(/VAD_PROVIDER/);
  });

  it("names the bad variable", () => {
    expect(() => parseConfig(speechConfigSchema, { STT_PROVIDER: "whisper" })).toThrow(/STT_PROVIDER/);
    expect(() => parseConfig(speechConfigSchema, { DEEPGRAM_URL: "https://x" })).toThrow(/DEEPGRAM_URL/);
  });

  it("merges into a service schema", () => {
    const svc = z.object({ PORT: z.coerce.number().default(8080) }).merge(speechConfigSchema);
    expect(parseConfig(svc, { STT_PROVIDER: "deepgram", DEEPGRAM_API_KEY: "k" })).toMatchObject({
      PORT: 8080,
      STT_PROVIDER: "deepgram",
    });
  });
});
