import { describe, expect, it, afterEach } from "vitest";
import { mulawEncode, MULAW_SILENCE } from "@voicecall/audio";
import {
  RealtimeError,
  type RealtimeEvent,
  type RealtimeModel,
  type RealtimeSession,
  type SessionOptions,
} from "../../services/media/src/realtime/types";
import { realtimeTools } from "../../services/media/src/realtime/tools";
import type { Reply } from "./fake-realtime-server";

/**
 * What every realtime vendor's local server exposes to the conformance suite: its protocol's view of the
 * session, normalised. A new vendor brings a provider file, a fake of its protocol, and this adapter.
 */
export interface VendorFake {
  url: string;
  callerLine(text: string): void;
  onUserTurn(fn: (text: string) => Reply): void;
  /** The session as configured by the client (normalised). */
  session(): {
    inFormat: string;
    outFormat: string;
    voice: string;
    instructions: string;
    vadSilenceMs?: number;
    createResponse: boolean;
    interrupt: boolean;
    tools: string[];
  };
  audioIn(): Uint8Array;
  /** Model audio the server sent in its `n`th response (0-based). */
  audioOut(n: number): Uint8Array;
  truncates(): { itemId: string; ms: number }[];
  toolOutputs(): { callId: string; output: string }[];
  userTexts(): string[];
  /** Next response fails with this vendor code (e.g. rate_limit_exceeded). */
  failNextResponse(code: string): void;
  /** Drop the socket after `n` audio deltas of the next response. */
  disconnectAfterDeltas(n: number): void;
  /** Refuse the next `n` handshakes (HTTP 503). */
  refuse(n: number): void;
  close(): Promise<void>;
}

export interface ConformanceTarget {
  label: string;
  start(o?: { apiKey?: string }): Promise<VendorFake>;
  model(fake: VendorFake, o?: { apiKey?: string }): RealtimeModel;
}

const tone = (ms: number): Uint8Array => {
  const pcm = new Int16Array(ms * 8);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return mulawEncode(pcm);
};
const silence = (ms: number) => new Uint8Array(ms * 8).fill(MULAW_SILENCE);

/** Collects a session's events; `until` waits (with a deadline) for one that matches. */
class Events {
  readonly all: RealtimeEvent[] = [];
  private wake?: () => void;
  constructor(s: RealtimeSession) {
    void (async () => {
      for await (const e of s.events) (this.all.push(e), this.wake?.());
      this.ended = true;
      this.wake?.();
    })();
  }
  ended = false;
  async until<T extends RealtimeEvent["type"]>(
    type: T,
    pred: (e: Extract<RealtimeEvent, { type: T }>) => boolean = () => true,
    ms = 10_000,
  ): Promise<Extract<RealtimeEvent, { type: T }>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.all.find(
        (e): e is Extract<RealtimeEvent, { type: T }> =>
          e.type === type && pred(e as Extract<RealtimeEvent, { type: T }>),
      );
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`no ${type} event within ${ms} ms (saw ${this.all.map((e) => e.type).join(",")})`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
  }
  of<T extends RealtimeEvent["type"]>(type: T): Extract<RealtimeEvent, { type: T }>[] {
    return this.all.filter((e): e is Extract<RealtimeEvent, { type: T }> => e.type === type);
  }
}

/** The realtime provider contract, run on real sockets against the vendor's local server. */
export function realtimeConformance(t: ConformanceTarget): void {
  describe(`realtime conformance: ${t.label}`, () => {
    const cleanup: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const f of cleanup.splice(0)) await f();
    });
    const open = async (o: Partial<SessionOptions> = {}, key?: { apiKey?: string }) => {
      const fake = await t.start(key);
      cleanup.push(() => fake.close());
      const ac = new AbortController();
      cleanup.push(() => ac.abort());
      const s = await t.model(fake, key).connect({
        instructions: "Be brief.",
        tools: realtimeTools,
        history: [],
        respondToSpeech: true,
        interruptOnSpeech: true,
        signal: ac.signal,
        ...o,
      });
      return { fake, s, ev: new Events(s), ac };
    };

    it("configures the session for 8 kHz μ-law both ways, with voice, instructions, VAD and tools; ready only once the server confirms", async () => {
      const { fake } = await open({ instructions: "You are Ada." });
      const c = fake.session();
      expect(c.inFormat).toBe(c.outFormat);
      expect(["audio/pcmu", "g711_ulaw"]).toContain(c.inFormat);
      expect(c.instructions).toBe("You are Ada.");
      expect(c.voice).toBe("alloy");
      expect(c.vadSilenceMs).toBe(500);
      expect(c).toMatchObject({ createResponse: true, interrupt: true });
      expect(c.tools.sort()).toEqual(["end_call", "send_digits", "transfer_call"]);
    });

    it("passes caller audio through byte for byte, reports speech start/stop and the caller's words, and answers", async () => {
      const { fake, s, ev } = await open();
      fake.callerLine("what time is it");
      const sent = new Uint8Array([...silence(200), ...tone(400), ...silence(700)]);
      for (let off = 0; off < sent.length; off += 160) s.appendAudio(sent.subarray(off, off + 160));
      await ev.until("speech.stopped");
      expect(Buffer.from(fake.audioIn())).toEqual(Buffer.from(sent));
      expect(ev.of("speech.started")).toHaveLength(1);
      expect((await ev.until("transcript.caller")).text).toBe("what time is it");
      const done = await ev.until("response.done");
      expect(done.status).toBe("completed");
      const audio = Buffer.concat(
        ev
          .of("audio")
          .filter((a) => a.responseId === done.responseId)
          .map((a) => Buffer.from(a.audio)),
      );
      expect(audio).toEqual(Buffer.from(fake.audioOut(0)));
      const item = ev.of("audio")[0]!.itemId;
      expect(ev.of("audio.done").map((e) => e.itemId)).toContain(item);
      expect((await ev.until("transcript.agent")).text).toBe("You said: what time is it");
    });

    it("tags responses it asked for, and takes text turns (DTMF) and history", async () => {
      const fake0 = await t.start();
      cleanup.push(() => fake0.close());
      const ac = new AbortController();
      cleanup.push(() => ac.abort());
      const s = await t.model(fake0).connect({
        instructions: "x",
        tools: [],
        history: [
          { role: "user", text: "my name is Bo" },
          { role: "assistant", text: "Hi Bo" },
        ],
        respondToSpeech: true,
        interruptOnSpeech: true,
        signal: ac.signal,
      });
      const ev = new Events(s);
      s.respond('Say exactly this to the caller, word for word, and nothing else: "Hello"', "greeting");
      const started = await ev.until("response.started");
      expect(started.tag).toBe("greeting");
      await ev.until("response.done");
      s.addText("user", "The caller pressed key 5.");
      s.respond();
      const second = await ev.until("response.started", (e) => e.responseId !== started.responseId);
      expect(second.tag).toBeUndefined();
      await ev.until("transcript.agent", (e) => e.text === "You said: The caller pressed key 5.");
      expect(fake0.userTexts()).toEqual(["my name is Bo", "The caller pressed key 5."]);
    });

    it("turns function calls into tool events and sends their output back", async () => {
      const { fake, s, ev } = await open();
      fake.onUserTurn(() => ({ say: "Goodbye.", tool: { name: "end_call", args: { reason: "done" } } }));
      s.addText("user", "bye");
      s.respond();
      const call = await ev.until("tool.call");
      expect(call).toMatchObject({ name: "end_call", args: { reason: "done" } });
      expect(call.callId).toBeTruthy();
      expect(ev.of("tool.call")).toHaveLength(1); // both of the protocol's announcements, reported once
      s.toolOutput(call.callId, '{"ok":true}');
      await expect.poll(() => fake.toolOutputs()).toEqual([{ callId: call.callId, output: '{"ok":true}' }]);
    });

    it("barge-in: the server's VAD cuts the response, and truncate reaches the server with the played ms", async () => {
      const { fake, s, ev } = await open();
      fake.onUserTurn(() => ({ say: "a long answer", ms: 20_000 }));
      s.addText("user", "talk");
      s.respond();
      const first = await ev.until("audio");
      for (let off = 0; off < 8 * 300; off += 160) s.appendAudio(tone(20));
      await ev.until("speech.started");
      const done = await ev.until("response.done");
      expect(done.status).toBe("cancelled");
      s.truncate(first.itemId, 123.7);
      await expect.poll(() => fake.truncates()).toEqual([{ itemId: first.itemId, ms: 123 }]);
    });

    it("reports rate limits and a failed response with the vendor's code", async () => {
      const { fake, s, ev } = await open();
      fake.failNextResponse("rate_limit_exceeded");
      s.respond();
      const done = await ev.until("response.done");
      expect(done).toMatchObject({ status: "failed", code: "rate_limit_exceeded" });
      expect(ev.of("rate-limits").some((r) => r.limits.some((l) => l.remaining === 0))).toBe(true);
    });

    it("reports a non-fatal error event with its code (cancel with nothing to cancel)", async () => {
      const { s, ev } = await open();
      s.cancelResponse();
      const e = await ev.until("error");
      expect(e).toMatchObject({ code: "response_cancel_not_active", fatal: false });
    });

    it("a disconnect mid-response: some audio, then `closed`, then the events end", async () => {
      const { fake, s, ev } = await open();
      fake.onUserTurn(() => ({ say: "a long answer", ms: 5000 }));
      fake.disconnectAfterDeltas(2);
      s.addText("user", "talk");
      s.respond();
      await ev.until("closed");
      expect(ev.of("audio")).toHaveLength(2);
      expect(ev.of("response.done")).toHaveLength(0);
      await expect.poll(() => ev.ended).toBe(true);
    });

    it("a refused handshake is a typed error: 503 retryable, a bad key final, and the key is never in it", async () => {
      const fake = await t.start({ apiKey: "sk-test-secret-key-123456" });
      cleanup.push(() => fake.close());
      const ac = new AbortController();
      const o = {
        instructions: "x",
        tools: [],
        history: [],
        respondToSpeech: true,
        interruptOnSpeech: true,
        signal: ac.signal,
      };
      const bad = await t
        .model(fake, { apiKey: "sk-wrong-key-999999" })
        .connect(o)
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(RealtimeError);
      expect(bad).toMatchObject({ code: "http_401", retryable: false });
      expect(JSON.stringify({ m: (bad as Error).message, ...(bad as object) })).not.toContain("sk-wrong-key");
      fake.refuse(1);
      const busy = await t
        .model(fake, { apiKey: "sk-test-secret-key-123456" })
        .connect(o)
        .catch((e: unknown) => e);
      expect(busy).toMatchObject({ code: "http_503", retryable: true });
      const ok = await t.model(fake, { apiKey: "sk-test-secret-key-123456" }).connect(o);
      ok.close();
      ac.abort();
    });
  });
}
