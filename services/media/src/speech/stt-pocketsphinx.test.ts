import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulawDecode } from "@voicecall/audio";
import { collect, sttConformance } from "../../test/speech/stt-conformance";
import { createPocketsphinxStt, type PocketsphinxStt } from "./stt-pocketsphinx";
import { synthMulaw } from "../../test/speech/synth-speech";

sttConformance("pocketsphinx", async () => {
  const stt = await createPocketsphinxStt();
  return { stt, close: () => stt.close() };
});

describe("pocketsphinx grammars", () => {
  let stt: PocketsphinxStt;
  beforeAll(async () => {
    stt = await createPocketsphinxStt();
  });
  afterAll(() => stt?.close());

  it("rejects a grammar with a word missing from the dictionary", async () => {
    await expect(stt.loadGrammar("#JSGF V1.0;\ngrammar g;\npublic <x> = zzxqvword ;\n")).rejects.toThrow(/grammar/);
  });

  it("switches grammar at run time within one stream", async () => {
    const s = stt.open({
      callId: "g",
      signal: new AbortController().signal,
      grammar: "#JSGF V1.0;\ngrammar a;\npublic <x> = goodbye | yes please ;\n",
    });
    const done = collect(s.results);
    const pcm = mulawDecode(await synthMulaw("flite:rms", "goodbye"));
    s.endUtterance(pcm);
    s.setGrammar!("#JSGF V1.0;\ngrammar b;\npublic <x> = hello there | good morning ;\n");
    s.endUtterance(pcm);
    s.close();
    const texts = (await done).map((r) => r.text);
    expect(texts[0]).toBe("goodbye");
    expect(["hello there", "good morning"]).toContain(texts[1]);
  });

  it("a peek (a barge-in check a paused reply waits on) goes ahead of finals already queued", async () => {
    const s = stt.open({
      callId: "prio",
      signal: new AbortController().signal,
      grammar: "#JSGF V1.0;\ngrammar p;\npublic <x> = what are your opening hours | goodbye ;\n",
    });
    const order: string[] = [];
    const done = (async () => {
      for await (const r of s.results) order.push(`final ${r.text}`);
    })();
    const long = mulawDecode(await synthMulaw("flite:rms", "what are your opening hours"));
    const short = mulawDecode(await synthMulaw("flite:rms", "goodbye"));
    for (let i = 0; i < 4; i++) s.endUtterance(long);
    const heard = s.peek!(short).then((h) => {
      order.push(`peek ${h.text}`);
      return h;
    });
    expect((await heard).decodeMs).toBeGreaterThan(0);
    s.close();
    await done;
    // In arrival order it would come last; at most the decode already running goes before it.
    expect(order).toHaveLength(5);
    expect(order.indexOf("peek goodbye")).toBeLessThanOrEqual(1);
  });

  it("a rated final's sink decode is a job of its own: a peek that comes during the final's decode answers first", async () => {
    const s = stt.open({
      callId: "sink-job",
      signal: new AbortController().signal,
      grammar: "#JSGF V1.0;\ngrammar q;\npublic <x> = ( what are your opening hours )+ | goodbye ;\n",
    });
    const order: string[] = [];
    const done = (async () => {
      for await (const r of s.results) order.push(`final ${r.confidence === undefined ? "unrated" : "rated"}`);
    })();
    const one = mulawDecode(await synthMulaw("flite:rms", "what are your opening hours"));
    const long = new Int16Array(one.length * 4);
    for (let i = 0; i < 4; i++) long.set(one, i * one.length);
    const short = mulawDecode(await synthMulaw("flite:rms", "goodbye"));
    s.endUtterance(long, { verify: true });
    await new Promise((r) => setTimeout(r, 20)); // the final's first decode is under way
    await s.peek!(short).then(() => order.push("peek"));
    s.close();
    await done;
    expect(order).toEqual(["peek", "final rated"]);
  });
});
