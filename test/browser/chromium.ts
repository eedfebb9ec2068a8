import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import { chromium, type Browser } from "playwright-core";
import { readWav, writeWav } from "@voicecall/audio";

/** Base64 SHA-256 of the served leaf certificate's public key, for --ignore-certificate-errors-spki-list. */
export function leafSpki(origin: string, ca: string | Buffer): Promise<string> {
  const u = new URL(origin);
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: Number(u.port), servername: u.hostname, ca }, () => {
      const der = s.getPeerCertificate().raw;
      s.end();
      const spki = new X509Certificate(der).publicKey.export({ type: "spki", format: "der" });
      resolve(createHash("sha256").update(spki).digest("base64"));
    });
    s.on("error", reject);
  });
}

/** Headless Chromium whose fake microphone plays `wav` (it loops: give it silence on both sides). */
export async function phoneBrowser(wav: string, origin: string, ca: string | Buffer): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${wav}`,
      `--ignore-certificate-errors-spki-list=${await leafSpki(origin, ca)}`,
    ],
  });
}

/**
 * A caller's WAV for the fake capture, 16-bit PCM mono: `[silenceS, sentence]` pairs rendered with
 * flite, in order, then `tailS` of silence. Returns where each sentence starts and ends (s from the start).
 */
export function callerScript(
  dir: string,
  path: string,
  parts: [number, string][],
  tailS: number,
): { startS: number; endS: number }[] {
  const pieces: Int16Array[] = [];
  const at: { startS: number; endS: number }[] = [];
  let rate = 8000;
  let len = 0;
  for (const [i, [silenceS, text]] of parts.entries()) {
    const raw = join(dir, `raw-${i}.wav`);
    execFileSync("flite", ["-voice", "rms", "-t", text, "-o", raw]);
    const { samples, sampleRate } = readWav(readFileSync(raw));
    rate = sampleRate;
    pieces.push(new Int16Array(Math.round(sampleRate * silenceS)), samples);
    len += Math.round(sampleRate * silenceS);
    at.push({ startS: len / sampleRate, endS: (len + samples.length) / sampleRate });
    len += samples.length;
  }
  pieces.push(new Int16Array(rate * tailS));
  const out = new Int16Array(len + rate * tailS);
  let off = 0;
  for (const p of pieces) {
    out.set(p, off);
    off += p.length;
  }
  writeFileSync(path, writeWav(out, rate));
  return at;
}
