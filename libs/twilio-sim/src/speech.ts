import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { mulawEncode, readWav, resample } from "@voicecall/audio";

const run = promisify(execFile);

export type SpeechEngine = "flite" | "espeak-ng";

/**
 * Speak `text` with a local CLI voice and return 8 kHz mu-law. flite `rms` is the clearest caller
 * voice on the telephone path; espeak-ng is faster but harder for STT. Uses a temp file: Node's
 * spawn pipes are sockets, and `flite -o /dev/stdout` fails on them.
 */
export async function synthesize(
  text: string,
  engine: SpeechEngine = "flite",
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), "vc-sim-say-"));
  const file = join(dir, "say.wav");
  try {
    if (engine === "flite") await run("flite", ["-voice", "rms", "-t", text, "-o", file], { signal });
    else await run("espeak-ng", ["-w", file, "--", text], { signal });
    return wavToMulaw(await readFile(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Any PCM/mu-law WAV → 8 kHz mu-law. */
export function wavToMulaw(wav: Uint8Array): Uint8Array {
  const { samples, sampleRate } = readWav(wav);
  return mulawEncode(resample(samples, sampleRate, 8000));
}

/** 16-bit PCM at 8 kHz → mu-law. */
export function pcm8kToMulaw(pcm: Int16Array): Uint8Array {
  return mulawEncode(pcm);
}
