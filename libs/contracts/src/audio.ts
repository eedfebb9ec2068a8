import { z } from "zod";
import { Purpose } from "./common";

/**
 * Headers of one audio chunk on `vc.call.<id>.audio`. The payload is raw 8 kHz mu-law, no WAV header.
 * NATS headers are strings; `parseAudioHeaders` turns them back into this shape.
 */
export const AudioChunkHeaders = z.object({
  callId: z.string(),
  utteranceId: z.string(),
  /** 0-based chunk index within the utterance. */
  seq: z.coerce.number().int().nonnegative(),
  /** Last chunk of the utterance (its payload may be empty). */
  last: z.enum(["0", "1"]).transform((v) => v === "1"),
  generation: z.coerce.number().int().nonnegative(),
  purpose: Purpose,
  /** Text of the utterance, sent on seq 0 only (for transcripts of what was heard). */
  text: z.string().optional(),
});
export type AudioChunkHeaders = z.infer<typeof AudioChunkHeaders>;
export type AudioChunkHeadersIn = z.input<typeof AudioChunkHeaders>;

export function audioHeaderRecord(h: {
  callId: string;
  utteranceId: string;
  seq: number;
  last: boolean;
  generation: number;
  purpose: z.infer<typeof Purpose>;
  text?: string;
}): Record<string, string> {
  const r: Record<string, string> = {
    callId: h.callId,
    utteranceId: h.utteranceId,
    seq: String(h.seq),
    last: h.last ? "1" : "0",
    generation: String(h.generation),
    purpose: h.purpose,
  };
  // NATS headers cannot carry newlines; the text is informational only.
  if (h.text !== undefined) r.text = encodeURIComponent(h.text.slice(0, 1000));
  return r;
}

export function parseAudioHeaders(r: Record<string, string | undefined>): AudioChunkHeaders {
  const h = AudioChunkHeaders.parse(r);
  return h.text === undefined ? h : { ...h, text: decodeURIComponent(h.text) };
}
