import { describe, expect, it } from "vitest";
import { StreamFrames } from "@voicecall/twilio-sim/frames";
import {
  clearMessage,
  markMessage,
  mediaAudio,
  mediaFromText,
  mediaMessage,
  parseInbound,
  parseInboundJson,
} from "./twilio-codec";

// Exact frames from the wire reference (Twilio docs + the connect-basic capture).
const MZ = "MZ" + "a".repeat(32);
const CA = "CA" + "b".repeat(32);
const AC = "AC" + "c".repeat(32);
const frames = {
  connected: `{"event":"connected","protocol":"Call","version":"1.0.0"}`,
  start: `{"event":"start","sequenceNumber":"1","start":{"accountSid":"${AC}","streamSid":"${MZ}","callSid":"${CA}","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"sessionId":"abc123"}},"streamSid":"${MZ}"}`,
  media: `{"event":"media","sequenceNumber":"2","media":{"track":"inbound","chunk":"1","timestamp":"52","payload":"${Buffer.alloc(160, 0xff).toString("base64")}"},"streamSid":"${MZ}"}`,
  dtmf: `{"event":"dtmf","streamSid":"${MZ}","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}`,
  mark: `{"event":"mark","sequenceNumber":"103","streamSid":"${MZ}","mark":{"name":"Repeat message 0"}}`,
  stop: `{"event":"stop","sequenceNumber":"5","stop":{"accountSid":"${AC}","callSid":"${CA}"},"streamSid":"${MZ}"}`,
};

// The caller side: one writer (libs/twilio-sim's StreamFrames) for the simulator, media's test client, the
// browser phone and the benches. It must write the documented frames byte for byte, so what they all send
// is what Twilio sends; only the sequence numbers are its own (it counts from 1 at start).
describe("twilio codec: the caller-side writer", () => {
  const seqOf = (text: string) => /"sequenceNumber":"(\d+)"/.exec(text)?.[1];
  const withSeq = (text: string, n: string | undefined) =>
    text.replace(/"sequenceNumber":"\d+"/, `"sequenceNumber":"${n}"`);

  it("writes connected, start and the first media frame exactly as documented, numbered 1, 2", () => {
    const w = new StreamFrames({ accountSid: AC, callSid: CA, streamSid: MZ });
    expect(w.connected()).toBe(frames.connected);
    expect(w.start({ sessionId: "abc123" })).toBe(frames.start);
    expect(w.media({ chunk: 1, timestampMs: 52 }, Buffer.alloc(160, 0xff).toString("base64"))).toBe(frames.media);
    expect(w.sequence).toBe(2);
  });

  it("writes dtmf, mark and stop in the documented shape and field order, each with the next number", () => {
    const w = new StreamFrames({ accountSid: AC, callSid: CA, streamSid: MZ });
    w.start({});
    const written = { dtmf: w.dtmf("1"), mark: w.mark("Repeat message 0"), stop: w.stop() };
    expect(Object.values(written).map(seqOf)).toEqual(["2", "3", "4"]);
    for (const [name, text] of Object.entries(written)) {
      const doc = frames[name as keyof typeof written];
      expect(text, name).toBe(withSeq(doc, seqOf(text)));
      expect(parseInbound(text), name).toEqual({ ok: true, event: JSON.parse(text) });
    }
  });

  it("escapes what JSON needs in a mark name and in custom parameters", () => {
    const w = new StreamFrames({ accountSid: AC, callSid: CA, streamSid: MZ });
    const r = parseInbound(w.start({ note: 'say "hi"\n' }));
    expect(r.ok && r.event.event === "start" && r.event.start.customParameters).toEqual({ note: 'say "hi"\n' });
    const m = parseInbound(w.mark('u"1'));
    expect(m.ok && m.event.event === "mark" && m.event.mark.name).toBe('u"1');
  });
});

describe("twilio codec: inbound", () => {
  it("parses every documented frame exactly", () => {
    for (const [name, text] of Object.entries(frames)) {
      const r = parseInbound(text);
      expect(r.ok, name).toBe(true);
      if (r.ok) expect(r.event.event).toBe(name);
    }
    const s = parseInbound(frames.start);
    expect(s.ok && s.event.event === "start" && s.event.start.customParameters).toEqual({ sessionId: "abc123" });
    const m = parseInbound(frames.media);
    expect(m.ok && m.event.event === "media" && mediaAudio(m.event).length).toBe(160);
  });

  it("accepts a drift in fields we do not use (numbers, missing) and names it; the documented shape has none", () => {
    for (const text of Object.values(frames)) expect(parseInbound(text)).not.toHaveProperty("drift");
    const media = parseInbound(
      frames.media
        .replace(`"chunk":"1"`, `"chunk":1`)
        .replace(`"timestamp":"52"`, `"timestamp":52`)
        .replace(`"sequenceNumber":"2"`, `"sequenceNumber":2`),
    );
    expect(media).toMatchObject({
      ok: true,
      drift: ["sequenceNumber: number", "media.chunk: number", "media.timestamp: number"],
    });
    expect(media.ok && media.event.event === "media" && mediaAudio(media.event).length).toBe(160);
    expect(parseInbound(frames.start.replace(`"sequenceNumber":"1"`, `"sequenceNumber":1`))).toMatchObject({
      ok: true,
      drift: ["sequenceNumber: number"],
    });
    expect(parseInbound(frames.mark.replace(`"sequenceNumber":"103",`, ""))).toMatchObject({
      ok: true,
      event: { mark: { name: "Repeat message 0" } },
      drift: ["sequenceNumber: missing"],
    });
    expect(parseInbound(`{"event":"connected","protocol":"Call"}`)).toMatchObject({
      ok: true,
      drift: ["version: missing"],
    });
  });

  it("validates what it uses: payload, streamSid, mark name, digit, dtmf track inbound_track", () => {
    expect(parseInbound(frames.media.replace(`"streamSid":"${MZ}"`, `"streamSid":5`))).toMatchObject({
      ok: false,
      reason: "invalid",
    });
    expect(parseInbound(frames.mark.replace(`"name":"Repeat message 0"`, `"name":7`))).toMatchObject({
      ok: false,
      reason: "invalid",
    });
    expect(parseInbound(frames.dtmf.replace("inbound_track", "inbound"))).toMatchObject({
      ok: false,
      reason: "invalid",
    });
    expect(parseInbound(frames.dtmf.replace(`"digit":"1"`, `"digit":"x"`))).toMatchObject({
      ok: false,
      reason: "invalid",
    });
  });

  it("names why a frame was skipped", () => {
    expect(parseInbound("{nope")).toEqual({ ok: false, reason: "not-json" });
    expect(parseInbound(Buffer.from("x"))).toEqual({ ok: false, reason: "not-text" });
    expect(parseInbound(`{"event":"bogus"}`)).toMatchObject({ ok: false, reason: "unknown-event" });
    expect(parseInbound(`[1,2]`)).toMatchObject({ ok: false, reason: "invalid" });
    expect(parseInbound("null")).toMatchObject({ ok: false, reason: "invalid" });
    expect(parseInbound("x".repeat(100), 50)).toEqual({ ok: false, reason: "too-large" });
    expect(parseInbound(frames.media.replace(/"payload":"[^"]*"/, `"payload":"not base64!"`))).toMatchObject({
      ok: false,
      reason: "invalid",
    });
  });
});

describe("twilio codec: the media fast path (no JSON.parse)", () => {
  const w = new StreamFrames({ accountSid: AC, callSid: CA, streamSid: MZ });
  w.start({});

  it("takes Twilio's exact media text, to the same frame as the JSON path", () => {
    const texts = [
      frames.media,
      frames.media.replace(`"track":"inbound"`, `"track":"outbound"`),
      frames.media.replace(`"payload":"${Buffer.alloc(160, 0xff).toString("base64")}"`, `"payload":""`),
      frames.media.replace(`"payload":"${Buffer.alloc(160, 0xff).toString("base64")}"`, `"payload":"/38="`),
      frames.media.replaceAll(MZ, "M".repeat(64)).replace(`"chunk":"1"`, `"chunk":"999999999999"`),
      w.media({ chunk: 7, timestampMs: 140 }, Buffer.alloc(160, 0x7e).toString("base64")),
    ];
    for (const t of texts) {
      expect(mediaFromText(t), t).toBeDefined();
      expect(parseInbound(t)).toEqual(parseInboundJson(t));
      expect(parseInbound(t)).toEqual({ ok: true, event: JSON.parse(t) });
    }
  });

  it("leaves everything else to the JSON path: spaces, order, escapes, extra or odd fields, other sids", () => {
    const b64 = Buffer.alloc(160, 0xff).toString("base64");
    const others = [
      frames.media.replace(`"event":"media",`, `"event": "media",`),
      frames.media.replace(`{"event":"media","sequenceNumber":"2",`, `{"sequenceNumber":"2","event":"media",`),
      frames.media.replace(`"payload":"${b64}"`, `"payload":"${b64.replace("/", "\\/")}"`),
      frames.media.replace(`"timestamp":"52"`, `"timestamp":52`),
      frames.media.replace(`"chunk":"1"`, `"chunk":"1234567890123"`),
      frames.media.replace(`"track":"inbound"`, `"track":"both"`),
      frames.media.replace(`"streamSid":"${MZ}"`, `"streamSid":"MZ-1"`),
      frames.media.replace(`"streamSid":"${MZ}"`, `"streamSid":""`),
      frames.media.replace(`"streamSid":"${MZ}"`, `"streamSid":"${"M".repeat(65)}"`),
      frames.media.replace(`"payload":"${b64}"`, `"payload":"${"A".repeat(10_669)}"`),
      frames.media.replace(`"payload":"${b64}"`, `"payload":"A==="`),
      frames.media.replace(/\}$/, `,"extra":1}`),
      frames.media.replace(/\}$/, `,"streamSid":"MZ2"}`),
      frames.media + "\n",
      frames.media.replace(`"payload":"${b64}"}`, `"payload":"${b64}","payload":"AA=="}`),
    ];
    for (const t of others) {
      expect(mediaFromText(t), t).toBeUndefined();
      expect(parseInbound(t)).toEqual(parseInboundJson(t));
    }
    // The JSON path still takes the valid ones among them, as before.
    expect(parseInbound(others[0]!)).toEqual({ ok: true, event: JSON.parse(frames.media) });
    expect(parseInbound(others[9]!)).toMatchObject({ ok: false, reason: "invalid" });
  });
});

describe("twilio codec: outbound", () => {
  it("builds media, mark and clear in Twilio's shapes", () => {
    expect(JSON.parse(mediaMessage(MZ, new Uint8Array([0xff, 0x7f, 0x00])))).toEqual({
      event: "media",
      streamSid: MZ,
      media: { payload: "/38A" },
    });
    expect(JSON.parse(markMessage(MZ, "u1:3"))).toEqual({ event: "mark", streamSid: MZ, mark: { name: "u1:3" } });
    expect(JSON.parse(clearMessage(MZ))).toEqual({ event: "clear", streamSid: MZ });
  });

  it("writes the same text as JSON.stringify of the message, escaping sid and mark name", () => {
    const mu = Uint8Array.from({ length: 160 }, (_, i) => (i * 37) & 0xff);
    for (const sid of [MZ, 'M"Z\\x\u2028', ""]) {
      const payload = Buffer.from(mu).toString("base64");
      expect(mediaMessage(sid, mu)).toBe(JSON.stringify({ event: "media", streamSid: sid, media: { payload } }));
      for (const name of ["u1:3", 'a"b\n\\c'])
        expect(markMessage(sid, name)).toBe(JSON.stringify({ event: "mark", streamSid: sid, mark: { name } }));
    }
  });

  it("encodes a subarray view, not its whole buffer", () => {
    const big = new Uint8Array([1, 2, 3, 4, 5]);
    expect(JSON.parse(mediaMessage(MZ, big.subarray(1, 3))).media.payload).toBe(Buffer.from([2, 3]).toString("base64"));
  });
});

describe("twilio codec: fuzz", () => {
  // Deterministic PRNG so a failure reproduces.
  let seed = 0x9e3779b9;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  const junk = [
    '"',
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\\",
    "null",
    "1e999",
    "-0",
    '"__proto__"',
    "\u0000",
    "\ud800",
    "true",
    '"event"',
    '"start"',
  ];
  const values = [null, 1, -1, 1e308, "", "x".repeat(600), [], {}, true, "1", { event: "start" }, [null]];

  const mutateJson = (text: string): string => {
    const o = JSON.parse(text);
    const paths: [Record<string, unknown>, string][] = [];
    const walk = (v: unknown) => {
      if (v && typeof v === "object")
        for (const k of Object.keys(v))
          (paths.push([v as Record<string, unknown>, k]), walk((v as Record<string, unknown>)[k]));
    };
    walk(o);
    const n = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < n && paths.length; i++) {
      const [obj, k] = pick(paths);
      const op = rnd();
      if (op < 0.4) obj[k] = pick(values);
      else if (op < 0.6) delete obj[k];
      else obj[k + "x"] = pick(values);
    }
    return JSON.stringify(o);
  };
  const mutateText = (text: string): string => {
    const a = [...text];
    const n = 1 + Math.floor(rnd() * 5);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(rnd() * (a.length + 1));
      const op = rnd();
      if (op < 0.33) a.splice(at, 1);
      else if (op < 0.66) a.splice(at, 0, pick(junk));
      else a[at] = String.fromCharCode(Math.floor(rnd() * 0xffff));
    }
    return a.join("");
  };
  const randomBytes = () =>
    String.fromCharCode(...Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));

  it("never throws on 12,000 random and mutated frames", () => {
    const bases = Object.values(frames);
    let ok = 0;
    for (let i = 0; i < 12_000; i++) {
      const base = pick(bases);
      const kind = i % 3;
      const text = kind === 0 ? mutateJson(base) : kind === 1 ? mutateText(base) : randomBytes();
      const r = parseInbound(text);
      expect(typeof r.ok).toBe("boolean");
      // The media fast path never answers differently from the JSON path.
      expect(r).toEqual(parseInboundJson(text));
      if (r.ok) {
        ok++;
        expect(["connected", "start", "media", "dtmf", "mark", "stop"]).toContain(r.event.event);
      } else expect(["not-json", "unknown-event", "invalid", "too-large"]).toContain(r.reason);
    }
    // Some mutations (an extra field) stay valid: the fuzzer exercises both paths.
    expect(ok).toBeGreaterThan(0);
  });
});
