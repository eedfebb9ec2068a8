import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { mulawEncode, readWav, resample } from "@voicecall/audio";
import { ProviderError, abortError } from "@voicecall/runtime";
import type { SynthesizeOptions, TextToSpeech, TtsCapabilities } from "./types";

export type LocalEngine = "flite" | "espeak-ng";

export interface LocalOptions {
  engine: LocalEngine;
  /** flite: `slt` (default), `rms`, `kal16`, `awb`…; espeak-ng: `en-us` (default) or any `--voices` name. */
  voice?: string;
}

const defaultVoice: Record<LocalEngine, string> = { flite: "slt", "espeak-ng": "en-us" };

/**
 * Offline speech from a Debian CLI engine (flite, BSD-style; espeak-ng, GPL-3 so spawned, never linked).
 * Text is split into sentences and each one is rendered by its own process, so the first sentence's audio
 * is out while the next renders. WAV → 8 kHz (libs/audio `resample`) → mu-law.
 */
export class LocalTts implements TextToSpeech {
  readonly label: string;
  readonly voice: string;
  readonly capabilities: TtsCapabilities = { streaming: false, offline: true };

  constructor(private readonly o: LocalOptions) {
    this.label = `local:${o.engine}`;
    this.voice = o.voice ?? defaultVoice[o.engine];
  }

  async *synthesize(text: string, { signal }: SynthesizeOptions): AsyncGenerator<Uint8Array> {
    for (const sentence of sentences(text)) {
      if (signal.aborted) throw abortError();
      const wav = this.o.engine === "flite" ? await this.flite(sentence, signal) : await this.espeak(sentence, signal);
      let pcm;
      try {
        pcm = readWav(wav);
      } catch (err) {
        throw new ProviderError(`${this.label} wrote unreadable audio`, false, { kind: "bad-output", cause: err });
      }
      if (pcm.samples.length === 0) continue;
      yield mulawEncode(resample(pcm.samples, pcm.sampleRate, 8000));
    }
  }

  /** flite cannot write WAV to a socket (Node's pipes), so it writes a temp file. */
  private async flite(text: string, signal: AbortSignal): Promise<Uint8Array> {
    const out = join(tmpdir(), `vc-tts-${randomUUID()}.wav`);
    try {
      await run("flite", ["-voice", this.voice, "-t", text, "-o", out], undefined, signal);
      return await readFile(out);
    } finally {
      await rm(out, { force: true });
    }
  }

  /** espeak-ng reads the text on stdin (so text starting with "-" is not an option) and writes WAV to stdout. */
  private espeak(text: string, signal: AbortSignal): Promise<Uint8Array> {
    return run("espeak-ng", ["--stdout", "-v", this.voice], text, signal);
  }
}

function run(cmd: string, args: string[], stdin: string | undefined, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    const onAbort = () => {
      p.kill("SIGKILL");
      reject(abortError());
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(new ProviderError(`${cmd} could not start (is it installed?)`, false, { kind: "engine", cause: e }));
    });
    p.on("close", (code) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) return;
      if (code !== 0)
        return reject(
          new ProviderError(`${cmd} exited ${code}: ${err.trim().slice(0, 200)}`, false, { kind: "engine" }),
        );
      resolve(Buffer.concat(out));
    });
    p.stdin.on("error", () => {});
    p.stdin.end(stdin ?? "");
  });
}

/** Split after sentence punctuation; tiny fragments are merged so each process renders something worthwhile. */
export function sentences(text: string): string[] {
  const parts =
    text
      .match(/[^.!?;]+[.!?;]*\s*|[.!?;]+\s*/g)
      ?.map((s) => s.trim())
      .filter(Boolean) ?? [];
  const out: string[] = [];
  for (const p of parts) {
    if (out.length > 0 && (out[out.length - 1]!.length < 20 || !/[A-Za-z0-9]/.test(p))) out[out.length - 1] += " " + p;
    else out.push(p);
  }
  return out.length > 0 ? out : [text];
}
