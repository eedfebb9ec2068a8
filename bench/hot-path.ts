/**
 * `npx tsx bench/hot-path.ts`: per-frame costs of the media hot path in isolation (µs per frame):
 * inbound parse (JSON + validation), base64 decode, mu-law decode + WebRTC VAD, outbound media+mark encode.
 */
import {
  parseInbound,
  mediaAudio,
  mediaMessage,
  markMessage,
  type MediaFrame,
} from "../services/media/src/twilio-codec";
import { decodeMulawInto } from "../services/media/src/speech/mulaw-frame";
import { createWebrtcVad } from "../services/media/src/speech/vad-webrtc";
import { StreamFrames } from "@voicecall/twilio-sim/frames";

function time(label: string, n: number, fn: (i: number) => void): { label: string; usPerOp: number } {
  for (let i = 0; i < Math.min(n, 20_000); i++) fn(i); // warm up
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t) / 1000 / n;
  return { label, usPerOp: Math.round(us * 1000) / 1000 };
}

export async function hotPath(n = 200_000): Promise<{ label: string; usPerOp: number }[]> {
  const mu = new Uint8Array(160);
  for (let i = 0; i < 160; i++) mu[i] = (i * 37) & 0xff;
  const b64 = Buffer.from(mu).toString("base64");
  const sid = "MZ" + "a".repeat(32);
  const twilio = new StreamFrames({
    accountSid: "AC" + "a".repeat(32),
    callSid: "CA" + "a".repeat(32),
    streamSid: sid,
  });
  twilio.start({});
  const frames = Array.from({ length: 64 }, (_, i) => twilio.media({ chunk: i + 1, timestampMs: i * 20 }, b64));
  const mark = twilio.mark("u1:3");
  const parsed = parseInbound(frames[0]).ok ? (parseInbound(frames[0]) as { event: MediaFrame }).event : undefined;
  if (!parsed) throw new Error("codec did not parse a media frame");
  const pcm = new Int16Array(160);
  const vad = (await createWebrtcVad({ mode: 3 })).open();
  const out = [
    time("parseInbound(media): JSON.parse + validate", n, (i) => parseInbound(frames[i & 63])),
    time("parseInbound(mark)", n, () => parseInbound(mark)),
    time("base64 decode (mediaAudio)", n, () => mediaAudio(parsed)),
    time("mu-law decode", n, () => decodeMulawInto(mu, pcm)),
    time("mu-law decode + WebRTC VAD", n / 4, () => vad.isSpeech(decodeMulawInto(mu, pcm))),
    time("outbound media + mark encode", n, (i) => (mediaMessage(sid, mu), markMessage(sid, `u1:${i}`))),
  ];
  vad.close();
  return out;
}

if (process.argv[1]?.endsWith("hot-path.ts")) {
  for (const r of await hotPath()) console.log(`${r.usPerOp.toFixed(3).padStart(8)} µs  ${r.label}`);
}
