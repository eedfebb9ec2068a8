import alawmulaw from "alawmulaw";

/** G.711 mu-law, 8 kHz mono: 160 bytes = 20 ms, the Twilio Media Streams frame. */
export const SAMPLE_RATE = 8000;
export const FRAME_BYTES = 160;
export const FRAME_MS = 20;
/** mu-law byte of digital silence. */
export const MULAW_SILENCE = 0xff;

export function mulawEncode(pcm: Int16Array): Uint8Array {
  return alawmulaw.mulaw.encode(pcm);
}

export function mulawDecode(mu: Uint8Array): Int16Array {
  return alawmulaw.mulaw.decode(mu);
}

/** Milliseconds of audio in `bytes` of 8 kHz mu-law. */
export const mulawMs = (bytes: number): number => bytes / 8;

export function silence(ms: number): Uint8Array {
  return new Uint8Array(Math.round(ms * 8)).fill(MULAW_SILENCE);
}
