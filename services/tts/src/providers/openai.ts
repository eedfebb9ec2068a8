import { PcmToMulaw } from "../pcm-to-mulaw";
import { postForAudio } from "./http";
import type { SynthesizeOptions, TextToSpeech, TtsCapabilities } from "./types";

export interface OpenAiTtsOptions {
  apiKey: string;
  /** Origin, e.g. `https://api.openai.com` (any OpenAI-compatible server). */
  baseUrl: string;
  model: string;
  voice: string;
}

/** `response_format: "pcm"` is raw 24 kHz 16-bit little-endian mono. */
const OPENAI_PCM_RATE = 24_000;

/** OpenAI-compatible `POST /v1/audio/speech`, PCM streamed and turned into 8 kHz mu-law as it arrives. */
export class OpenAiTts implements TextToSpeech {
  readonly label = "openai";
  readonly voice: string;
  readonly capabilities: TtsCapabilities = { streaming: true, offline: false };

  constructor(private readonly o: OpenAiTtsOptions) {
    this.voice = o.voice;
  }

  async *synthesize(text: string, { signal }: SynthesizeOptions): AsyncGenerator<Uint8Array> {
    const url = `${this.o.baseUrl.replace(/\/+$/, "")}/v1/audio/speech`;
    const body = { model: this.o.model, voice: this.o.voice, input: text, response_format: "pcm" };
    const conv = new PcmToMulaw(OPENAI_PCM_RATE);
    for await (const chunk of postForAudio(
      this.label,
      url,
      { authorization: `Bearer ${this.o.apiKey}` },
      body,
      signal,
    )) {
      const mu = conv.push(chunk);
      if (mu.length > 0) yield mu;
    }
    const rest = conv.flush();
    if (rest.length > 0) yield rest;
  }
}
