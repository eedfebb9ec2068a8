/**
 * Test/benchmark speech: local TTS CLI → WAV → 8 kHz 16-bit → G.711 mu-law, i.e. what a caller's
 * audio looks like after Twilio. Used by the tests and `bench/stt-accuracy.ts` (not by the service).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { mulawEncode, readWav, resample, silence } from "@voicecall/audio";

const run = promisify(execFile);

/** `flite:rms`, `flite:kal16`, `flite:slt`, `espeak-ng`. */
export type TestVoice = "flite:rms" | "flite:kal16" | "flite:slt" | "espeak-ng";
export const TEST_VOICES: TestVoice[] = ["flite:rms", "flite:kal16", "flite:slt", "espeak-ng"];

/** Synthesize `text` and return 8 kHz mu-law bytes (no padding). */
export async function synthMulaw(voice: TestVoice, text: string): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), "vc-synth-"));
  const wav = join(dir, "s.wav");
  try {
    if (voice === "espeak-ng") await run("espeak-ng", ["-w", wav, text]);
    else await run("flite", ["-voice", voice.slice(6), "-t", text, "-o", wav]);
    const pcm = readWav(new Uint8Array(await readFile(wav)));
    return mulawEncode(resample(pcm.samples, pcm.sampleRate, 8000));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `lead` ms of silence, the speech, `trail` ms of silence: a caller turn as mu-law. */
export async function callerTurn(voice: TestVoice, text: string, leadMs = 500, trailMs = 1000): Promise<Uint8Array> {
  const speech = await synthMulaw(voice, text);
  const out = new Uint8Array(leadMs * 8 + speech.length + trailMs * 8);
  out.set(silence(leadMs), 0);
  out.set(speech, leadMs * 8);
  out.set(silence(trailMs), leadMs * 8 + speech.length);
  return out;
}
