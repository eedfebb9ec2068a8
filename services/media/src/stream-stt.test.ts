import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { MULAW_SILENCE } from "@voicecall/audio";
import { synthesize } from "@voicecall/twilio-sim";
import { createSpeechPipelineFactory, type SpeechFactory } from "./speech/index";
import { parseMediaConfig } from "./config";
import { startHarness, type Harness } from "../test/harness";
import { TwilioStream } from "../test/twilio-stream";

// The production speech side (WebRTC VAD + PocketSphinx, from ./speech) behind the stream core:
// a caller's spoken words arrive as a transcript.final on the bus.
describe("media: caller speech to transcript with the real speech pipeline", () => {
  let h: Harness;
  let speech: SpeechFactory;
  beforeAll(async () => {
    const grammar =
      "#JSGF V1.0;\ngrammar test;\npublic <s> = yes please | no thanks | call me tomorrow | uh huh | mm hmm;\n";
    const cfg = parseMediaConfig({
      PUBLIC_URL: "https://x.test",
      TWILIO_AUTH_TOKEN: "t",
      STREAM_TOKEN_SECRET: "0123456789abcdef",
    });
    speech = await createSpeechPipelineFactory(cfg, { grammar });
    h = await startHarness(1, {}, () => speech);
  });
  afterAll(async () => {
    await h?.stop();
    await speech?.close();
  });

  it("flite speech through the 8 kHz mu-law stream becomes a final transcript, kept on the call record too", async () => {
    const call = await h.newCall();
    const c: TwilioStream = h.client(call);
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
    await waitFor(
      async () => (await h.store.getCall(call.callId))?.lastFinalTs === final.ts,
      "final on the call record",
    );
    expect((await h.store.getCall(call.callId))!.lastFinalText).toBe("no thanks");
    expect(h.of(call.callId, "speech.started").length).toBeGreaterThan(0);
  });

  const frames = (audio: Uint8Array) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < audio.length; i += 160) {
      const f = new Uint8Array(160).fill(MULAW_SILENCE);
      f.set(audio.subarray(i, i + 160));
      out.push(f);
    }
    return out;
  };

  it("a murmur over the agent pauses it, is decoded before its endpoint and resumes; the final is marked a backchannel", async () => {
    const call = await h.newCall();
    const c: TwilioStream = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "stream.started");
    h.speak(
      call.callId,
      "reply",
      await synthesize("we are open monday to friday from nine in the morning to six in the evening", "flite"),
      { chunks: 4 },
    );
    await waitFor(() => c.played >= 4000, "half a second played");
    c.sayFrames(frames(await synthesize("uh huh", "flite")));
    const resumed = await waitFor(() => h.of(call.callId, "resumed")[0], "resumed", 30_000);
    expect(resumed.utteranceId).toBe("reply");
    // The early check decided it, asked ahead of the quiet gap but never deciding before it is up.
    expect(resumed).toMatchObject({ by: "check", decodeMs: expect.any(Number), checkMs: expect.any(Number) });
    expect(resumed.quietMs).toBeGreaterThanOrEqual(200);
    // The decode of the speech so far answered before the endpointer's silence (600 ms) ended the utterance.
    const stopped = await waitFor(() => h.of(call.callId, "speech.stopped")[0], "speech.stopped", 30_000);
    expect(resumed.ts).toBeLessThan(stopped.ts);
    const final = await waitFor(() => h.of(call.callId, "transcript.final")[0], "final", 30_000);
    expect(final).toMatchObject({ text: "uh huh", backchannel: true });
  });

  it("words over the agent cut it for good: no resume, and the final is a turn", async () => {
    const call = await h.newCall();
    const c: TwilioStream = h.client(call);
    await waitFor(() => h.of(call.callId, "stream.started").length === 1, "stream.started");
    h.speak(
      call.callId,
      "reply",
      await synthesize("we are open monday to friday from nine in the morning to six in the evening", "flite"),
      { chunks: 4 },
    );
    await waitFor(() => c.played >= 4000, "half a second played");
    c.sayFrames(frames(await synthesize("no thanks", "flite")));
    await waitFor(() => h.of(call.callId, "interrupted")[0], "interrupted", 30_000);
    const final = await waitFor(() => h.of(call.callId, "transcript.final")[0], "final", 30_000);
    expect(final.text).toBe("no thanks");
    expect(final.backchannel).toBeUndefined();
    expect(h.of(call.callId, "resumed")).toEqual([]);
  });
});
