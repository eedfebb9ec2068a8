import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "@voicecall/testkit";
import { mulawEncode } from "@voicecall/audio";
import { HeardRecorder, MediaStream, newSid } from "@voicecall/twilio-sim";
import { AUTH_TOKEN, startHarness, rampAudio, type Harness } from "../test/harness";
import { MediaConfigSchema } from "./config";

const LEAD_MS = MediaConfigSchema.shape.PLAYOUT_LEAD_MS.parse(undefined);

/** The caller's outgoing frames; `push` resolves once they have all been sent. */
class Mouth {
  private frames: Uint8Array[] = [];
  private waiters: { left: number; resolve: () => void }[] = [];
  push(mu: Uint8Array): Promise<void> {
    for (let i = 0; i < mu.length; i += 160) this.frames.push(mu.subarray(i, i + 160));
    return new Promise((resolve) => this.waiters.push({ left: this.frames.length, resolve }));
  }
  next(): Uint8Array | undefined {
    const f = this.frames.shift();
    if (f) for (const w of this.waiters) w.left--;
    this.waiters = this.waiters.filter((w) => (w.left <= 0 ? (w.resolve(), false) : true));
    return f;
  }
}

// End to end with the project's Twilio simulator (its Media Streams side: signed upgrade, wall-clock
// playout, marks echoed at the playhead, clear) against two media workers behind Caddy TLS.
describe("media with the Twilio simulator", () => {
  let h: Harness;
  const streams: MediaStream[] = [];
  beforeAll(async () => {
    h = await startHarness(2);
  });
  afterAll(async () => {
    for (const s of streams) s.drop();
    await h?.stop();
  });

  const tone = (() => {
    const pcm = new Int16Array(160);
    for (let i = 0; i < 160; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 8000));
    return mulawEncode(pcm);
  })();
  const speech = (ms: number) => {
    const out = new Uint8Array((ms / 20) * 160);
    for (let i = 0; i < ms / 20; i++) out.set(tone, i * 160);
    return out;
  };

  const open = async (call: { callId: string; callSid: string }, recorder: HeardRecorder, mouth: Mouth) => {
    const s = new MediaStream({
      url: h.streamUrl,
      authToken: AUTH_TOKEN,
      accountSid: newSid("AC"),
      callSid: call.callSid,
      streamSid: newSid("MZ"),
      customParameters: { callId: call.callId, token: h.token(call.callId, call.callSid) },
      ca: h.caddy.ca,
      nextCallerFrame: () => mouth.next(),
      recorder,
      onWarning: (code, message) => warnings.push(`${code} ${message}`),
    });
    streams.push(s);
    expect(await s.open()).toEqual({ ok: true });
    await waitFor(() => h.of(call.callId, "stream.started").find((e) => e.streamSid === s.streamSid), "stream.started");
    return s;
  };
  const warnings: string[] = [];

  it("caller speech reaches a final transcript; agent audio reaches the caller; barge-in matches what was heard; kill -9 fails over", async () => {
    const call = await h.newCall();
    const recorder = new HeardRecorder(Date.now());
    const mouth = new Mouth();
    const s1 = await open(call, recorder, mouth);

    // Speech in.
    await mouth.push(speech(1000));
    const final = await waitFor(() => h.of(call.callId, "transcript.final")[0], "transcript.final");
    expect(final.text).toBe("word word");

    // Audio out, fully heard.
    h.speak(call.callId, "hello", rampAudio(600), { generation: 1 });
    await waitFor(
      () => h.of(call.callId, "playback.mark").find((e) => e.utteranceId === "hello" && e.done),
      "hello played",
    );
    expect(Buffer.from(recorder.snapshot().audio)).toEqual(Buffer.from(rampAudio(600)));

    // Barge-in over a long utterance: the simulator's buffer is flushed and playedMs matches its playhead.
    const before = recorder.heardMs();
    h.speak(call.callId, "long", rampAudio(8000), { generation: 2 });
    await waitFor(() => recorder.heardMs() - before >= 1000, "a second of the long utterance");
    void mouth.push(speech(1200));
    const cut = await waitFor(
      () => h.of(call.callId, "interrupted").find((e) => e.utteranceId === "long"),
      "interrupted",
    );
    await waitFor(() => h.of(call.callId, "transcript.final").length === 2, "the caller's turn");
    const heard = recorder.snapshot();
    expect(heard.clears.length).toBe(1);
    // The clear drops what was ahead: the lead and at most one piece (100 ms).
    expect(heard.clears[0]!.droppedMs).toBeLessThanOrEqual(LEAD_MS + 100);
    // The playhead estimate (the newest mark, played on in real time) against what the caller heard:
    // a few ms on an idle machine, up to ~70 ms with a load average of 40 (event-loop lag on both sides);
    // the bound is the one the history needs (one word, ±100 ms), as in test/e2e/network.test.ts.
    expect(Math.abs(cut.playedMs - (heard.ms - before))).toBeLessThanOrEqual(100);
    expect(h.of(call.callId, "resumed")).toEqual([]);

    // A worker dies mid-call: the stream drops, Twilio reconnects (Redirect → new Connect/Stream), another worker takes it.
    const owner = h.of(call.callId, "stream.started")[0]!.worker;
    await h.workers.find((w) => w.id === owner)!.app.close();
    await s1.closed;
    const s2 = await open(call, recorder, mouth);
    const again = h.of(call.callId, "stream.started").find((e) => e.streamSid === s2.streamSid)!;
    expect(again.worker).not.toBe(owner);
    const at = recorder.heardMs();
    h.speak(call.callId, "after", rampAudio(400), { generation: 3 });
    await waitFor(
      () => h.of(call.callId, "playback.mark").find((e) => e.utteranceId === "after" && e.done),
      "audio after failover",
    );
    expect(recorder.heardMs() - at).toBe(400);
    await mouth.push(speech(800));
    await waitFor(() => h.of(call.callId, "transcript.final").length === 3, "speech in after failover");
    await s2.stop();
    await waitFor(
      () => h.of(call.callId, "stream.stopped").find((e) => e.streamSid === s2.streamSid && e.reason === "stop"),
      "stopped",
    );
    expect(warnings).toEqual([]);
  });
});
