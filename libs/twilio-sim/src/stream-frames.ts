/**
 * Twilio's side of a bidirectional Media Stream, as text: the `connected`, `start`, `media`, `dtmf`, `mark`
 * and `stop` messages Twilio sends the app, in Twilio's field order. One writer per stream: it numbers the
 * messages (`sequenceNumber`, from 1 at `start`; `connected` has none).
 *
 * The one place these frames are written: the simulator, media's test client, the browser phone, and the
 * benchmarks use it. No Node API here: the browser page bundles this file (`@voicecall/twilio-sim/frames`).
 * media's `twilio-codec.ts` is the other side (the app parsing these, and its own outbound messages).
 */
export interface StreamIds {
  accountSid: string;
  callSid: string;
  streamSid: string;
}

/** `connected`: the first message on the socket, before `start`. */
export const CONNECTED = JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" });

/** One inbound 20 ms frame's place in the stream. */
export interface MediaPosition {
  /** 1-based chunk number. */
  chunk: number;
  /** ms since the stream's media began. */
  timestampMs: number;
}

export class StreamFrames {
  private seq = 0;

  constructor(readonly ids: StreamIds) {}

  /** Messages written so far (the last sequenceNumber). */
  get sequence(): number {
    return this.seq;
  }

  connected(): string {
    return CONNECTED;
  }

  start(customParameters: Record<string, string>, tracks: string[] = ["inbound"]): string {
    const { accountSid, callSid, streamSid } = this.ids;
    return JSON.stringify({
      event: "start",
      sequenceNumber: String(++this.seq),
      start: {
        accountSid,
        streamSid,
        callSid,
        tracks,
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        customParameters,
      },
      streamSid,
    });
  }

  /**
   * `payload` is the frame's mu-law audio, base64. Written as a template, not JSON.stringify: 50 a second
   * per stream in the capacity bench, and base64 and the sids have no character JSON must escape.
   */
  media(p: MediaPosition, payload: string): string {
    return `{"event":"media","sequenceNumber":"${++this.seq}","media":{"track":"inbound","chunk":"${p.chunk}","timestamp":"${p.timestampMs}","payload":"${payload}"},"streamSid":"${this.ids.streamSid}"}`;
  }

  /** A mark echoed back: playback reached it (or a `clear` flushed it). */
  mark(name: string): string {
    return JSON.stringify({
      event: "mark",
      sequenceNumber: String(++this.seq),
      streamSid: this.ids.streamSid,
      mark: { name },
    });
  }

  /** A key the caller pressed (bidirectional streams carry inbound DTMF only). */
  dtmf(digit: string): string {
    return JSON.stringify({
      event: "dtmf",
      streamSid: this.ids.streamSid,
      sequenceNumber: String(++this.seq),
      dtmf: { track: "inbound_track", digit },
    });
  }

  stop(): string {
    const { accountSid, callSid, streamSid } = this.ids;
    return JSON.stringify({
      event: "stop",
      sequenceNumber: String(++this.seq),
      stop: { accountSid, callSid },
      streamSid,
    });
  }
}
