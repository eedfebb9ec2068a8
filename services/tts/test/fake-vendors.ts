import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import { mulawEncode, readWav, resample } from "@voicecall/audio";

/** How a fake vendor answers the next requests. */
export type VendorMode =
  | { kind: "ok"; chunks?: number; delayMs?: number; firstDelayMs?: number }
  | { kind: "status"; status: number }
  | { kind: "json" }
  | { kind: "empty" }
  | { kind: "hang" };

export interface FakeVendors {
  /** `http://127.0.0.1:PORT`: use as ELEVENLABS_URL and OPENAI_TTS_URL. */
  url: string;
  apiKey: string;
  /** 8 kHz mu-law the ElevenLabs fake streams (real flite speech). */
  ulaw: Uint8Array;
  /** 24 kHz 16-bit LE PCM the OpenAI fake streams (same speech). */
  pcm24: Uint8Array;
  /** Modes consumed one per request; when empty, `fallbackMode` applies. */
  modes: VendorMode[];
  fallbackMode: VendorMode;
  requests: { path: string; body: Record<string, unknown> }[];
  /** Requests whose client went away before the response finished (cancelled synthesis). */
  aborted: number;
  close(): Promise<void>;
}

/** Real speech to serve, rendered once with flite (16 kHz) so decoded vendor audio has speech energy. */
function speech(text: string): Int16Array {
  const f = join(tmpdir(), `vc-fake-vendor-${process.pid}-${Date.now()}.wav`);
  execFileSync("flite", ["-voice", "slt", "-t", text, "-o", f]);
  const pcm = readWav(readFileSync(f));
  rmSync(f, { force: true });
  return pcm.samples.length ? resample(pcm.samples, pcm.sampleRate, 8000) : pcm.samples;
}

/**
 * Local servers speaking the ElevenLabs streaming and OpenAI speech HTTP protocols, on port 0:
 * they check the path, auth header and JSON body like the vendor (401/400/404 otherwise) and stream
 * audio with chunked transfer encoding, paced by `delayMs`.
 */
export async function startFakeVendors(
  text = "Hello from the fake vendor. This is streamed speech.",
): Promise<FakeVendors> {
  const pcm8 = speech(text);
  const ulaw = mulawEncode(pcm8);
  const p24 = resample(pcm8, 8000, 24000);
  const pcm24 = new Uint8Array(p24.buffer, p24.byteOffset, p24.byteLength);
  const apiKey = "test-key-0123456789";
  const app = express();
  app.use(express.json());
  const fake = {
    modes: [] as VendorMode[],
    fallbackMode: { kind: "ok" } as VendorMode,
    requests: [] as FakeVendors["requests"],
    aborted: 0,
  };

  const serve = async (res: express.Response, req: express.Request, audio: Uint8Array, type: string) => {
    const mode = fake.modes.shift() ?? fake.fallbackMode;
    if (mode.kind === "status")
      return res.status(mode.status).json({ detail: { status: "error", message: `fake ${mode.status}` } });
    if (mode.kind === "json") return res.status(200).json({ detail: "quota exceeded" });
    if (mode.kind === "empty") return res.status(200).type(type).end();
    if (mode.kind === "hang") {
      req.on("close", () => fake.aborted++);
      return;
    }
    let gone = false;
    res.on("close", () => {
      if (!res.writableFinished) {
        gone = true;
        fake.aborted++;
      }
    });
    res.status(200).type(type);
    res.flushHeaders();
    const n = mode.chunks ?? 8;
    // Whole samples per chunk for PCM; odd splits are exercised by the converter's own test.
    const size = Math.ceil(audio.length / n / 2) * 2;
    if (mode.firstDelayMs) await sleep(mode.firstDelayMs);
    for (let off = 0; off < audio.length && !gone; off += size) {
      res.write(audio.subarray(off, off + size));
      if (mode.delayMs) await sleep(mode.delayMs);
    }
    if (!gone) res.end();
  };

  app.post("/v1/text-to-speech/:voiceId/stream", (req, res) => {
    fake.requests.push({ path: req.originalUrl, body: req.body });
    if (req.get("xi-api-key") !== apiKey) return res.status(401).json({ detail: { status: "invalid_api_key" } });
    if (req.query.output_format !== "ulaw_8000")
      return res.status(400).json({ detail: "expected output_format=ulaw_8000" });
    if (typeof req.body?.text !== "string" || typeof req.body?.model_id !== "string")
      return res.status(400).json({ detail: "text and model_id required" });
    void serve(res, req, ulaw, "audio/basic");
  });
  app.post("/v1/audio/speech", (req, res) => {
    fake.requests.push({ path: req.originalUrl, body: req.body });
    if (req.get("authorization") !== `Bearer ${apiKey}`)
      return res.status(401).json({ error: { message: "Incorrect API key" } });
    const b = req.body ?? {};
    if (
      typeof b.input !== "string" ||
      typeof b.model !== "string" ||
      typeof b.voice !== "string" ||
      b.response_format !== "pcm"
    )
      return res.status(400).json({ error: { message: "input, model, voice and response_format=pcm required" } });
    void serve(res, req, pcm24, "audio/pcm");
  });

  const server: Server = await new Promise((r) => {
    const s = app.listen(0, "127.0.0.1", () => r(s));
  });
  const port = (server.address() as { port: number }).port;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    apiKey,
    ulaw,
    pcm24,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
