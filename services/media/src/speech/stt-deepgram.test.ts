import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulawDecode, voicedMs } from "@voicecall/audio";
import { waitFor } from "@voicecall/testkit";
import { startFakeDeepgram, type FakeDeepgram } from "../../test/speech/deepgram-fake";
import { createDeepgramStt, deepgramListenUrl } from "./stt-deepgram";
import { CONFORMANCE_PHRASES, collect, sttConformance } from "../../test/speech/stt-conformance";
import { synthMulaw } from "../../test/speech/synth-speech";

const KEY = "test-key-0123456789";

/**
 * The fake "hears" a phrase by its voiced length: each test phrase is spoken once by flite rms, and
 * the phrase whose voiced length is nearest to the audio received is the transcript.
 */
async function phraseBook(phrases: readonly string[]) {
  const book: { text: string; ms: number }[] = [];
  for (const text of phrases) book.push({ text, ms: voicedMs(mulawDecode(await synthMulaw("flite:rms", text)), 8000) });
  return (mu: Uint8Array, fraction = 1): string => {
    const ms = voicedMs(mulawDecode(mu), 8000);
    if (ms === 0) return "";
    const best = book.reduce((a, b) => (Math.abs(b.ms - ms) < Math.abs(a.ms - ms) ? b : a));
    const words = best.text.split(" ");
    return words.slice(0, Math.max(1, Math.round(words.length * fraction))).join(" ");
  };
}

let fake: FakeDeepgram | undefined;
sttConformance("deepgram (local fake server)", async () => {
  fake = await startFakeDeepgram({
    apiKey: KEY,
    transcribe: await phraseBook(CONFORMANCE_PHRASES),
    interimEveryMs: 400,
  });
  return { stt: createDeepgramStt({ apiKey: KEY, url: fake.url }), close: () => fake!.close() };
});

describe("deepgram adapter protocol", () => {
  let server: FakeDeepgram;
  beforeAll(async () => {
    server = await startFakeDeepgram({ apiKey: KEY, transcribe: await phraseBook(["goodbye"]) });
  });
  afterAll(() => server?.close());

  it("builds the live URL for 8 kHz mu-law with interim results and endpointing", () => {
    const u = new URL(
      deepgramListenUrl({ url: "wss://api.deepgram.com/v1/listen", endpointingMs: 600, model: "nova-3" }),
    );
    expect(Object.fromEntries(u.searchParams)).toMatchObject({
      encoding: "mulaw",
      sample_rate: "8000",
      channels: "1",
      interim_results: "true",
      endpointing: "600",
      model: "nova-3",
    });
  });

  it("a wrong key fails the results with the HTTP status", async () => {
    const s = createDeepgramStt({ apiKey: "wrong-key-000000000", url: server.url }).open({
      callId: "k",
      signal: new AbortController().signal,
    });
    await expect(collect(s.results)).rejects.toThrow(/401/);
  });

  it("sends KeepAlive while idle and CloseStream on close", async () => {
    const before = server.controls.length;
    const s = createDeepgramStt({ apiKey: KEY, url: server.url, keepAliveMs: 50 }).open({
      callId: "ka",
      signal: new AbortController().signal,
    });
    const done = collect(s.results);
    await waitFor(() => server.controls.slice(before).includes("KeepAlive"), "a KeepAlive");
    s.close();
    await done;
    expect(server.controls.slice(before).at(-1)).toBe("CloseStream");
  });

  it("sends no KeepAlive while audio streams (only once it stops)", async () => {
    const s = createDeepgramStt({ apiKey: KEY, url: server.url, keepAliveMs: 150 }).open({
      callId: "ka-audio",
      signal: new AbortController().signal,
    });
    const done = collect(s.results);
    const quiet = new Uint8Array(160).fill(0xff);
    const before = server.controls.length;
    // 800 ms of audio at the real rate: a batch goes up every 60 ms, well inside each 150 ms period.
    for (let i = 0; i < 40; i++) {
      s.pushFrame(quiet);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(server.controls.slice(before)).not.toContain("KeepAlive");
    await waitFor(() => server.controls.slice(before).includes("KeepAlive"), "a KeepAlive once idle");
    s.close();
    await done;
  });

  it("audio pushed before the socket opens is sent once it does", async () => {
    const s = createDeepgramStt({ apiKey: KEY, url: server.url }).open({
      callId: "early",
      signal: new AbortController().signal,
    });
    const done = collect(s.results);
    const mu = await synthMulaw("flite:rms", "goodbye");
    for (let i = 0; i + 160 <= mu.length; i += 160) s.pushFrame(mu.subarray(i, i + 160));
    s.close();
    expect((await done).filter((r) => r.final).map((r) => r.text)).toEqual(["goodbye"]);
  });
});
