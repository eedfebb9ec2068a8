import { postForAudio } from "./http";
import type { SynthesizeOptions, TextToSpeech, TtsCapabilities } from "./types";

export interface ElevenLabsOptions {
  apiKey: string;
  voiceId: string;
  /** Origin, e.g. `https://api.elevenlabs.io` (a local fake in tests). */
  baseUrl: string;
  modelId: string;
}

/**
 * ElevenLabs streaming HTTP: `POST /v1/text-to-speech/{voice_id}/stream?output_format=ulaw_8000`.
 * The body is already 8 kHz mu-law, Twilio's format: passed through untouched, chunk by chunk.
 */
export class ElevenLabsTts implements TextToSpeech {
  readonly label = "elevenlabs";
  readonly voice: string;
  readonly capabilities: TtsCapabilities = { streaming: true, offline: false };

  constructor(private readonly o: ElevenLabsOptions) {
    this.voice = o.voiceId;
  }

  synthesize(text: string, { signal }: SynthesizeOptions): AsyncIterable<Uint8Array> {
    const url = `${this.o.baseUrl.replace(/\/+$/, "")}/v1/text-to-speech/${encodeURIComponent(this.o.voiceId)}/stream?output_format=ulaw_8000`;
    return postForAudio(
      this.label,
      url,
      { "xi-api-key": this.o.apiKey, accept: "audio/basic" },
      { text, model_id: this.o.modelId },
      signal,
    );
  }
}
