import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { MULAW_SILENCE } from "@voicecall/audio";
import { synthesize } from "@voicecall/twilio-sim";
import { createSpeechPipelineFactory, type SpeechFactory } from "./speech/index";
import { parseMediaConfig } from "./config";
import { startHarness, type Harness } from "./test-support/harness";
import { TwilioClient } from "./test-support/twilio-client";

// The production speech side (WebRTC VAD + PocketSphinx, from ./speech) behind the stream core:
// a caller's spoken words arrive as a transcript.final on the bus.
describe("media: caller speech to transcript with the real speech pipeline", () => {
  let h: Harness;
  let speech: SpeechFactory;
  beforeAll(async () => {
    const grammar = "#JSGF V1.0;\ngrammar test;\npublic <s> = yes please | no thanks | call me tomorrow;\n";
    const cfg = parseMediaConfig({ PUBLIC_URL: "https://x.test", TWILIO_AUTH_TOKEN: "t", STREAM_TOKEN_SECRET: "0123456789abcdef" });
    speech = await createSpeechPipelineFactory(cfg, { grammar });
    h = await startHarness(1, {}, () => speech);
  });
  afterAll(async () => {
    await h?.stop();
    await speech?.close();
  });

  it("flite speech through the 8 kHz mu-law stream becomes a final transcript, kept on the call record too", async () => {
    const call = await h.newCall();
    const c: TwilioClient = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "stream.started");
    const audio = await synthesize("no thanks", "flite");
    const frames: Uint8Array[] = [];
    for (let i = 0; i < audio.length; i += 160) {
      const f = new Uint8Array(160).fill(MULAW_SILENCE);
      f.set(audio.subarray(i, i + 160));
      frames.push(f);
    }
    c.sayFrames(frames);
    const final = await waitFor(() => h.of(call.callId, "transcript.final")[0], "transcript.final", 30_000);
    expect(final.text).toBe("no thanks");
    // Also on the call record, same ts: an agent that missed the event finds the line there.
    await waitFor(async () => (await h.store.getCall(call.callId))?.lastFinalTs === final.ts, "final on the call record");
    expect((await h.store.getCall(call.callId))!.lastFinalText).toBe("no thanks");
    expect(h.of(call.callId, "speech.started").length).toBeGreaterThan(0);
  });
});
