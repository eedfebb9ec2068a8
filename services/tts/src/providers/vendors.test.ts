import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { concat, mulawDecode, rms, voicedMs } from "@voicecall/audio";
import { startFakeVendors, type FakeVendors } from "../../test/fake-vendors";
import { ElevenLabsTts } from "./elevenlabs";
import { FallbackTts } from "./fallback";
import { LocalTts } from "./local";
import { OpenAiTts } from "./openai";
import { ResilientTts } from "./resilient";
import type { TextToSpeech, TtsFailure } from "./types";

let v: FakeVendors;
beforeAll(async () => {
  v = await startFakeVendors();
});
afterAll(() => v?.close());
beforeEach(() => {
  v.modes = [];
  v.fallbackMode = { kind: "ok" };
  v.requests = [];
  v.aborted = 0;
});

const signal = () => new AbortController().signal;
async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}
const eleven = (apiKey = v.apiKey) =>
  new ElevenLabsTts({ apiKey, voiceId: "voice-1", baseUrl: v.url, modelId: "eleven_flash_v2_5" });
const openai = () => new OpenAiTts({ apiKey: v.apiKey, baseUrl: v.url + "/", model: "tts-1", voice: "alloy" });
const resilient = (p: TextToSpeech, retries = 2, firstChunkTimeoutMs = 2000) =>
  new ResilientTts(p, { firstChunkTimeoutMs, idleTimeoutMs: 2000, retries, backoffMs: 10 });

describe("ElevenLabs adapter against a local server speaking its streaming protocol", () => {
  it("passes the streamed ulaw_8000 body through untouched, chunk by chunk", async () => {
    const chunks = await collect(eleven().synthesize("Hello there.", { signal: signal() }));
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.from(concat(chunks)).equals(Buffer.from(v.ulaw))).toBe(true);
    expect(v.requests[0]).toEqual({
      path: "/v1/text-to-speech/voice-1/stream?output_format=ulaw_8000",
      body: { text: "Hello there.", model_id: "eleven_flash_v2_5" },
    });
    const pcm = mulawDecode(concat(chunks));
    expect(voicedMs(pcm, 8000)).toBeGreaterThan(1000);
  });

  it("a bad key is a final 401 ProviderError", async () => {
    await expect(collect(eleven("wrong").synthesize("x", { signal: signal() }))).rejects.toMatchObject({
      name: "ProviderError",
      status: 401,
      retryable: false,
    });
  });

  it("a JSON body where audio was asked for is bad audio", async () => {
    v.modes = [{ kind: "json" }];
    await expect(collect(eleven().synthesize("x", { signal: signal() }))).rejects.toMatchObject({ kind: "bad-output" });
  });
});

describe("OpenAI adapter against a local server speaking /v1/audio/speech", () => {
  it("turns streamed 24 kHz PCM into 8 kHz mu-law speech of the same length", async () => {
    const chunks = await collect(openai().synthesize("Hello there.", { signal: signal() }));
    expect(chunks.length).toBeGreaterThan(1);
    const pcm = mulawDecode(concat(chunks));
    const expected = v.pcm24.length / 2 / 3;
    expect(Math.abs(pcm.length - expected)).toBeLessThanOrEqual(2);
    expect(voicedMs(pcm, 8000)).toBeGreaterThan(1000);
    expect(rms(pcm)).toBeGreaterThan(0.02);
    expect(v.requests[0]!.body).toEqual({
      model: "tts-1",
      voice: "alloy",
      input: "Hello there.",
      response_format: "pcm",
    });
  });

  it("a 500 is a retryable ProviderError", async () => {
    v.modes = [{ kind: "status", status: 500 }];
    await expect(collect(openai().synthesize("x", { signal: signal() }))).rejects.toMatchObject({
      status: 500,
      retryable: true,
    });
  });

  it("aborting mid-stream cancels the HTTP request", async () => {
    v.modes = [{ kind: "ok", chunks: 20, delayMs: 30 }];
    const ctl = new AbortController();
    const run = (async () => {
      for await (const _ of openai().synthesize("x", { signal: ctl.signal })) ctl.abort();
    })();
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    await waitUntil(() => v.aborted === 1);
  });
});

describe("the shared retry/timeout wrapper", () => {
  it("retries 5xx and 429 before the first chunk, then streams", async () => {
    v.modes = [
      { kind: "status", status: 503 },
      { kind: "status", status: 429 },
    ];
    const chunks = await collect(resilient(eleven()).synthesize("x", { signal: signal() }));
    expect(concat(chunks).length).toBe(v.ulaw.length);
    expect(v.requests.length).toBe(3);
  });

  it("does not retry a 4xx other than 408/429", async () => {
    v.modes = [{ kind: "status", status: 400 }];
    await expect(collect(resilient(eleven()).synthesize("x", { signal: signal() }))).rejects.toMatchObject({
      status: 400,
    });
    expect(v.requests.length).toBe(1);
  });

  it("times out a vendor that sends nothing, and aborts its request", async () => {
    v.fallbackMode = { kind: "hang" };
    await expect(collect(resilient(eleven(), 0, 200).synthesize("x", { signal: signal() }))).rejects.toMatchObject({
      kind: "timeout",
    });
    await waitUntil(() => v.aborted === 1);
  });

  it("an empty 200 is bad audio, not silence", async () => {
    v.fallbackMode = { kind: "empty" };
    await expect(collect(resilient(eleven(), 0).synthesize("x", { signal: signal() }))).rejects.toMatchObject({
      kind: "bad-output",
    });
  });
});

describe("fallback adapter", () => {
  const withFallback = () => new FallbackTts(resilient(eleven(), 0, 500), resilient(new LocalTts({ engine: "flite" })));

  for (const mode of [
    { kind: "status", status: 500 },
    { kind: "status", status: 401 },
    { kind: "hang" },
    { kind: "empty" },
    { kind: "json" },
  ] as const) {
    it(`vendor ${mode.kind}${"status" in mode ? " " + mode.status : ""} → reported, and local speaks the text`, async () => {
      v.fallbackMode = mode;
      const failures: TtsFailure[] = [];
      const chunks = await collect(
        withFallback().synthesize("The fallback voice speaks.", {
          signal: signal(),
          onFailure: (f) => failures.push(f),
        }),
      );
      expect(failures).toEqual([expect.objectContaining({ provider: "elevenlabs", fallback: "local:flite" })]);
      expect(voicedMs(mulawDecode(concat(chunks)), 8000)).toBeGreaterThan(500);
    });
  }

  it("a healthy vendor is used and nothing is reported", async () => {
    const failures: TtsFailure[] = [];
    const chunks = await collect(
      withFallback().synthesize("x", { signal: signal(), onFailure: (f) => failures.push(f) }),
    );
    expect(failures).toEqual([]);
    expect(concat(chunks).length).toBe(v.ulaw.length);
  });
});

async function waitUntil(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
