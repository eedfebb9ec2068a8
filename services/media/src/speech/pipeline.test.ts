import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FRAME_BYTES, mulawDecode } from "@voicecall/audio";
import { parseConfig } from "@voicecall/config";
import { speechConfigSchema } from "./config";
import { startFakeDeepgram, type FakeDeepgram } from "../../test/speech/deepgram-fake";
import { createSpeechPipelineFactory, type SpeechFactory } from "./factory";
import { padQuiet } from "./pipeline";
import { callerTurn, synthMulaw } from "../../test/speech/synth-speech";
import { phraseGrammar } from "../../test/speech/test-phrases";
import type { SpeechEvent, SpeechPipeline } from "./types";

/** Push a whole recording as 20 ms frames, close, and gather every event. */
async function feed(p: SpeechPipeline, mu: Uint8Array): Promise<SpeechEvent[]> {
  const out: SpeechEvent[] = [];
  const done = (async () => {
    for await (const e of p.events) out.push(e);
  })();
  for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) p.push(mu.subarray(i, i + FRAME_BYTES));
  p.close();
  await done;
  return out;
}

/** First/last sample louder than -40 dBFS: where the speech really is, in ms. */
function speechSpan(mu: Uint8Array): { startMs: number; endMs: number } {
  const pcm = mulawDecode(mu);
  const loud = (i: number) => Math.abs(pcm[i]!) > 328;
  let a = 0;
  while (!loud(a)) a++;
  let b = pcm.length - 1;
  while (!loud(b)) b--;
  return { startMs: a / 8, endMs: b / 8 };
}

const PHRASES = ["what are your opening hours", "yes please", "i want to book an appointment"];

describe("speech pipeline with pocketsphinx", () => {
  let factory: SpeechFactory;
  beforeAll(async () => {
    const cfg = parseConfig(speechConfigSchema, {});
    factory = await createSpeechPipelineFactory(cfg, { grammar: phraseGrammar() });
  });
  afterAll(() => factory?.close());

  it("the VAD segments a flite sentence between silences within ~100 ms", async () => {
    const mu = await callerTurn("flite:kal16", "i want to book an appointment", 1000, 1500);
    const truth = speechSpan(mu);
    const ev = await feed(factory.open({ callId: "vad", signal: new AbortController().signal }), mu);
    const started = ev.find((e) => e.type === "speech.started");
    const stopped = ev.find((e) => e.type === "speech.stopped");
    expect(ev.filter((e) => e.type === "speech.started")).toHaveLength(1);
    expect(Math.abs(started!.atMs - truth.startMs)).toBeLessThanOrEqual(100);
    expect(Math.abs(stopped!.atMs - truth.endMs)).toBeLessThanOrEqual(100);
  });

  it("recognises flite phrases exactly with a grammar through the 8 kHz mu-law path", async () => {
    const voices = ["flite:rms", "flite:kal16", "flite:slt"] as const;
    const parts: Uint8Array[] = [];
    for (const [i, text] of PHRASES.entries()) parts.push(await callerTurn(voices[i]!, text, 400, 900));
    const mu = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((off, p) => (mu.set(p, off), off + p.length), 0);
    const ev = await feed(factory.open({ callId: "asr", signal: new AbortController().signal }), mu);
    expect(ev.filter((e) => e.type === "transcript.final").map((e) => (e as { text: string }).text)).toEqual(PHRASES);
    // Audio is pushed faster than real time here, so finals may trail later turns' events; each one
    // must still follow its own turn's speech.stopped.
    const at = (type: string) => ev.flatMap((e, i) => (e.type === type ? [i] : []));
    expect(at("speech.started")).toHaveLength(3);
    at("transcript.final").forEach((i, k) => expect(i).toBeGreaterThan(at("speech.stopped")[k]!));
    const final = ev.find((e) => e.type === "transcript.final") as Extract<SpeechEvent, { type: "transcript.final" }>;
    expect(final.speechMs).toBeGreaterThan(1000);
  });

  it("a level floor keeps quiet speech (an echo, the room) from starting an utterance; the voiced level is reported", async () => {
    const mu = await callerTurn("flite:rms", "yes please", 500, 1000);
    const loud = await feed(factory.open({ callId: "lvl", signal: new AbortController().signal }), mu);
    const final = loud.find((e) => e.type === "transcript.final") as Extract<SpeechEvent, { type: "transcript.final" }>;
    expect(final.text).toBe("yes please");
    expect(final.level).toBeGreaterThan(0.03);
    const p = factory.open({ callId: "lvl2", signal: new AbortController().signal });
    p.setLevelFloor!(final.level! * 1.5);
    expect(await feed(p, mu)).toEqual([]);
  });

  it("rates a final only when heard over agent speech (the murmur-sink decode is not paid on idle turns)", async () => {
    const mu = await callerTurn("flite:rms", "yes please", 500, 1000);
    const finalOf = async (over: boolean) => {
      const p = factory.open({ callId: `over-${over}`, signal: new AbortController().signal });
      p.setOverAgent!(over);
      return (await feed(p, mu)).find((e) => e.type === "transcript.final") as
        { text: string; confidence?: number } | undefined;
    };
    expect(await finalOf(false)).toMatchObject({ text: "yes please", confidence: undefined });
    expect((await finalOf(true))?.confidence).toBeGreaterThan(0.5);
  });

  it("a final says its utterance was heard over agent speech even when the agent stopped before the decode answered", async () => {
    const mu = await callerTurn("flite:rms", "yes please", 500, 1000);
    const overOf = async (over: boolean) => {
      const p = factory.open({ callId: `late-${over}`, signal: new AbortController().signal });
      const out: SpeechEvent[] = [];
      const done = (async () => {
        for await (const e of p.events) out.push(e);
      })();
      p.setOverAgent!(over);
      for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) p.push(mu.subarray(i, i + FRAME_BYTES));
      p.setOverAgent!(false); // the agent's audio ends; the decode has not answered yet (it runs in a worker)
      p.close();
      await done;
      return (out.find((e) => e.type === "transcript.final") as { overAgent?: boolean } | undefined)?.overAgent;
    };
    expect(await overOf(true)).toBe(true);
    expect(await overOf(false)).toBe(false);
  });

  it("a peek with no voice after it is the utterance's final (no second decode); voice after it decodes again", async () => {
    const speech = await synthMulaw("flite:rms", "yes please");
    const run = async (voiceAfterPeek: boolean) => {
      const p = factory.open({ callId: "reuse", signal: new AbortController().signal });
      p.setOverAgent!(true);
      const ev: SpeechEvent[] = [];
      const done = (async () => {
        for await (const e of p.events) ev.push(e);
      })();
      const push = (mu: Uint8Array) => {
        for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) p.push(mu.subarray(i, i + FRAME_BYTES));
      };
      push(new Uint8Array(4000).fill(0xff));
      push(speech);
      push(new Uint8Array(800).fill(0xff)); // 100 ms quiet: an early check
      const heard = await p.peek!({ quietMs: 200 });
      if (voiceAfterPeek) push(speech);
      push(new Uint8Array(8000).fill(0xff)); // 1 s quiet: the endpoint
      p.close();
      await done;
      return { heard, finals: ev.filter((e) => e.type === "transcript.final") };
    };
    const same = await run(false);
    expect(same.heard?.text).toBe("yes please");
    expect(same.finals).toMatchObject([{ text: "yes please", confidence: same.heard?.confidence, decodeMs: 0 }]);
    const more = await run(true);
    expect(more.finals).toHaveLength(1);
    expect((more.finals[0] as { decodeMs?: number }).decodeMs).toBeGreaterThan(0);
  });

  it("peek decodes the running utterance before its end; lastVoicedMs follows the voice", async () => {
    const speech = await synthMulaw("flite:rms", "yes please");
    const p = factory.open({ callId: "peek", signal: new AbortController().signal });
    const mu = new Uint8Array(4000 + speech.length + 2400).fill(0xff);
    mu.set(speech, 4000);
    for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) p.push(mu.subarray(i, i + FRAME_BYTES)); // 300 ms quiet after it: still in the utterance
    expect(p.lastVoicedMs).toBeGreaterThan(500);
    expect(p.lastVoicedMs).toBeLessThanOrEqual(mu.length / 8 - 200);
    const heard = await p.peek!();
    expect(heard?.text).toBe("yes please");
    // A script phrase said as itself fits its grammar (confidence: its margin over the murmur sink, see pocketsphinx-worker.ts).
    expect(heard?.confidence).toBeGreaterThan(0.5);
    const ev: SpeechEvent[] = [];
    const done = (async () => {
      for await (const e of p.events) ev.push(e);
    })();
    p.close();
    await done;
    expect(ev.filter((e) => e.type === "transcript.final").map((e) => (e as { text: string }).text)).toEqual([
      "yes please",
    ]);
  });

  it("silence alone gives no events", async () => {
    const ev = await feed(
      factory.open({ callId: "quiet", signal: new AbortController().signal }),
      new Uint8Array(8000 * 2).fill(0xff),
    );
    expect(ev).toEqual([]);
  });

  it("abort ends the events at once", async () => {
    const ac = new AbortController();
    const p = factory.open({ callId: "abort", signal: ac.signal });
    const mu = await synthMulaw("flite:rms", "goodbye");
    for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) p.push(mu.subarray(i, i + FRAME_BYTES));
    ac.abort();
    const ev: SpeechEvent[] = [];
    for await (const e of p.events) ev.push(e);
    expect(ev.some((e) => e.type === "transcript.final")).toBe(false);
  });
});

describe("speech pipeline with deepgram (local fake server)", () => {
  let fake: FakeDeepgram;
  let factory: SpeechFactory;
  beforeAll(async () => {
    fake = await startFakeDeepgram({
      apiKey: "k-0123456789abcdef",
      transcribe: (mu) => (mu.some((b) => b !== 0xff) ? "yes please" : ""),
      interimEveryMs: 300,
    });
    const cfg = parseConfig(speechConfigSchema, {
      STT_PROVIDER: "deepgram",
      DEEPGRAM_API_KEY: "k-0123456789abcdef",
      DEEPGRAM_URL: fake.url,
    });
    factory = await createSpeechPipelineFactory(cfg);
  });
  afterAll(async () => {
    await factory?.close();
    await fake?.close();
  });

  it("streams every frame, gets partials, and a final when our VAD ends the turn", async () => {
    const mu = await callerTurn("flite:rms", "yes please", 500, 1000);
    const ev = await feed(factory.open({ callId: "dg", signal: new AbortController().signal }), mu);
    expect(ev.filter((e) => e.type === "transcript.final").map((e) => (e as { text: string }).text)).toEqual([
      "yes please",
    ]);
    expect(ev.some((e) => e.type === "transcript.partial")).toBe(true);
    expect(fake.controls).toContain("Finalize");
    expect(fake.queries.at(-1)?.get("endpointing")).toBe("600");
  });

  it("endNow ends the running utterance at once: Deepgram's Finalize answer comes before our endpoint would", async () => {
    const speech = await synthMulaw("flite:rms", "yes please");
    const p = factory.open({ callId: "dg-now", signal: new AbortController().signal });
    expect(p.peek).toBeUndefined(); // a streaming engine cannot decode a part: the early check ends the utterance
    const ev: SpeechEvent[] = [];
    const done = (async () => {
      for await (const e of p.events) ev.push(e);
    })();
    const mu = new Uint8Array(4000 + speech.length + 1600).fill(0xff); // 200 ms quiet after it: under ENDPOINT_SILENCE_MS
    mu.set(speech, 4000);
    const tick = () => new Promise((r) => setImmediate(r));
    for (let i = 0; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES) p.push(mu.subarray(i, i + FRAME_BYTES));
    await tick();
    expect(ev.some((e) => e.type === "speech.started")).toBe(true);
    expect(ev.some((e) => e.type === "speech.stopped")).toBe(false);
    p.endNow!();
    await tick();
    expect(ev.at(-1)?.type).toBe("speech.stopped");
    const stoppedAt = (ev.at(-1) as { atMs: number }).atMs;
    expect(stoppedAt).toBeLessThanOrEqual(mu.length / 8 - 100);
    while (!ev.some((e) => e.type === "transcript.final")) await new Promise((r) => setTimeout(r, 10));
    p.close();
    await done;
    expect(ev.filter((e) => e.type === "transcript.final").map((e) => (e as { text: string }).text)).toEqual([
      "yes please",
    ]);
  });

  it("refuses to start without DEEPGRAM_API_KEY", async () => {
    const cfg = parseConfig(speechConfigSchema, { STT_PROVIDER: "deepgram" });
    await expect(createSpeechPipelineFactory(cfg)).rejects.toThrow(/DEEPGRAM_API_KEY/);
  });
});

describe("padQuiet (an early check decoded as the audio the quiet gap will have)", () => {
  it("appends more of the quiet the audio ends in: its own last samples, repeated when shorter", () => {
    const pcm = Int16Array.from({ length: 16 }, (_, i) => i);
    expect(padQuiet(pcm, 0)).toBe(pcm);
    expect(padQuiet(pcm, -20)).toBe(pcm);
    expect([...padQuiet(pcm, 1)]).toEqual([...pcm, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect([...padQuiet(pcm, 3).subarray(16)]).toEqual([...pcm, 0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
