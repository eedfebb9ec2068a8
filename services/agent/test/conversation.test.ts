import { describe, expect, it } from "vitest";
import { heardPart } from "../src/caller-heard";
import type { LanguageModel, LlmChunk } from "../src/llm/types";
import { conversationHarness, ev, runConversation, script } from "./harness";

/**
 * The conversation's behaviour through its ports alone (no NATS, no Redis): events in, the says,
 * controls, commands and store writes it makes out. agent.test.ts keeps the same paths on the real bus.
 */
const HOURS = "We are open Monday to Friday from nine in the morning to six in the evening.";

/** A model that says `chunks` (text or tool calls) whatever it is asked. */
const scripted = (chunks: LlmChunk[]): LanguageModel => ({
  label: "scripted",
  async *chat() {
    yield* chunks;
  },
});

describe("conversation (harness: no NATS, no Redis)", () => {
  it("stands aside for a realtime call: says nothing, writes nothing, ends with the call", async () => {
    const h = await conversationHarness({ call: { mode: "conversation", greeting: "Hello.", engine: "realtime" } });
    await h.send(ev.streamStarted(), ev.final("hello there"), ev.dtmf("5"));
    expect(h.ended).toBe(false);
    await h.send(ev.ended());
    expect(h.ended).toBe(true);
    expect([h.says, h.ctls, h.cmds, await h.transcript()]).toEqual([[], [], [], []]);
  });

  it("says the greeting on stream.started, again on a new stream without a mark, clears it once on the mark", async () => {
    const h = await conversationHarness({ call: { mode: "conversation", greeting: "Hello from the test." } });
    await h.send(ev.streamStarted());
    const g1 = h.said("greeting")!;
    expect(g1.text).toBe("Hello from the test.");
    await h.send(ev.streamStarted());
    const g2 = h.spoken().filter((s) => s.purpose === "greeting")[1]!;
    expect(g2.utteranceId).not.toBe(g1.utteranceId);
    expect(h.record().greetingPlayed).toBe(false);
    await h.send(ev.mark(g2.utteranceId));
    expect(h.record().greetingPlayed).toBe(true);
    await h.send(ev.mark(g1.utteranceId), ev.streamStarted());
    expect(h.spoken().filter((s) => s.purpose === "greeting")).toHaveLength(2);
    const lines = (await h.transcript()).filter((t) => t.text === "Hello from the test.");
    expect(lines.map((l) => l.utteranceId)).toEqual([g2.utteranceId]);
  });

  it("a greeting's mark from the stream before counts: the purpose comes from the ledger, not the id", async () => {
    const h = await conversationHarness({ call: { mode: "conversation", greeting: "Hi." } });
    await h.send(ev.streamStarted());
    const g1 = h.said("greeting")!;
    // Media reports the first play done only after the new stream began (its worker drained late).
    await h.send(ev.streamStarted(), ev.mark(g1.utteranceId));
    expect(h.record().greetingPlayed).toBe(true);
    expect((await h.transcript()).map((t) => [t.text, t.utteranceId])).toEqual([["Hi.", g1.utteranceId]]);
    await h.send(ev.streamStarted());
    expect(h.spoken().filter((s) => s.purpose === "greeting")).toHaveLength(2);
  });

  it("answers transcript.final with a say per sentence after cancelling older generations, and DTMF as input", async () => {
    const { says, ctls, transcript, harness: h } = await runConversation([ev.final("what are your opening hours")]);
    const replies = says.filter((s) => s.purpose === "reply");
    expect(replies.map((r) => [r.text, r.endOfTurn])).toEqual([
      [HOURS, false],
      ["Is there anything else?", true],
    ]);
    const gen = replies[0]!.generation;
    expect(gen).toBeGreaterThan(0);
    expect(ctls).toContainEqual(expect.objectContaining({ type: "cancel", beforeGeneration: gen }));
    expect(h.says).toContainEqual(expect.objectContaining({ type: "say.cancel", beforeGeneration: gen }));
    expect(h.evts).toContainEqual(expect.objectContaining({ type: "agent.turn", turnId: gen }));
    expect(transcript.find((e) => e.role === "caller")!.text).toBe("what are your opening hours");
    const h2 = await conversationHarness();
    await h2.send(ev.streamStarted(), ev.dtmf("2"));
    expect(h2.spoken().find((s) => s.text.startsWith("The first free slot"))).toBeDefined();
    expect((await h2.transcript()).find((e) => e.role === "caller")!.text).toBe("The caller pressed key 2.");
  });

  it("a final media marked as a backchannel is not a turn; the same word on its own is", async () => {
    const h = await conversationHarness();
    await h.send(ev.streamStarted(), ev.final("right", { backchannel: true }));
    expect(h.replies()).toEqual([]);
    await h.send(ev.final("right"));
    expect(
      h
        .replies()
        .map((r) => r.text)
        .join(" "),
    ).toBe(script.fallback);
  });

  it("keeps only the heard part of an interrupted reply in history and transcript; its own echo is no turn", async () => {
    const h = await conversationHarness();
    await h.send(ev.streamStarted());
    await h.send(ev.mark(h.said("greeting")!.utteranceId), ev.final("when are you open"));
    const [first] = h.replies();
    await h.send(ev.final("open monday to friday"), ev.interrupted(first!.utteranceId, 1000, 4000));
    const heard = heardPart(first!.text, 1000, 4000);
    expect(heard.length).toBeGreaterThan(0);
    expect(h.conv.messages.at(-1)).toEqual({ role: "assistant", content: heard });
    expect(h.replies()).toHaveLength(2);
    await h.send(ev.final("book an appointment"));
    expect(h.conv.messages.slice(-3).map((m) => m.content)).toEqual([
      heard,
      "book an appointment",
      expect.stringMatching(/^Sure\./),
    ]);
    expect((await h.transcript()).filter((e) => e.interrupted)).toEqual([
      expect.objectContaining({ role: "agent", text: heard, utteranceId: first!.utteranceId }),
    ]);
  });

  it("a cut undone by resumed, then confirmed after the caller's words, keeps only the heard part", async () => {
    const h = await conversationHarness({ call: { mode: "conversation", greeting: "Hi." } });
    await h.send(ev.streamStarted());
    await h.send(ev.mark(h.said("greeting")!.utteranceId), ev.final("when are you open"));
    const first = h.replies()[0]!;
    await h.send(
      ev.interrupted(first.utteranceId, 1000, 4000),
      ev.resumed(first.utteranceId, 1000),
      ev.final("book an appointment"),
      ev.interrupted(first.utteranceId, 1500, 4000),
    );
    const heard = heardPart(first.text, 1500, 4000);
    expect(h.conv.messages.slice(-3).map((m) => m.content)).toEqual([
      heard,
      "book an appointment",
      expect.stringMatching(/^Sure\./),
    ]);
    expect((await h.transcript()).filter((e) => e.interrupted)).toEqual([
      expect.objectContaining({ text: heard, utteranceId: first.utteranceId }),
    ]);
  });

  it("notify mode ignores the caller and hangs up only after the message's done mark", async () => {
    const h = await conversationHarness({ call: { mode: "notify", greeting: "Your parcel arrives today." } });
    await h.send(ev.streamStarted());
    const msg = h.said("notify")!;
    await h.send(ev.mark(msg.utteranceId, false), ev.final("hello"));
    expect([h.cmds, h.replies()]).toEqual([[], []]);
    await h.send(ev.mark(msg.utteranceId));
    expect(h.cmds).toEqual([expect.objectContaining({ type: "hangup", reason: "notify-complete" })]);
    expect(h.record().greetingPlayed).toBe(true);
  });

  it("leaves the voicemail on an answering machine (cancelling the greeting), then hangs up after its mark", async () => {
    const h = await conversationHarness({
      call: { mode: "conversation", voicemailMessage: "Please call us back." },
      config: { VOICEMAIL_MESSAGE: "Config voicemail." },
    });
    await h.send(ev.streamStarted(), ev.amd("machine_end_beep"));
    const vm = h.said("voicemail")!;
    expect(vm.text).toBe("Please call us back.");
    expect(h.ctls).toContainEqual(expect.objectContaining({ type: "cancel", beforeGeneration: vm.generation }));
    // The caller (a machine) talking is no turn now; the greeting's late mark does not end anything.
    await h.send(
      ev.final("please leave a message"),
      ev.mark(h.said("greeting")!.utteranceId),
      ev.amd("machine_end_beep"),
    );
    expect([h.cmds, h.replies(), h.spoken().filter((s) => s.purpose === "voicemail")]).toEqual([[], [], [vm]]);
    await h.send(ev.mark(vm.utteranceId));
    expect(h.cmds).toEqual([expect.objectContaining({ type: "hangup", reason: "voicemail-left" })]);
    expect(h.record().greetingPlayed).toBe(false);
  });

  it("transfer_call: says the line, then sends cmd transfer after its mark", async () => {
    const h = await conversationHarness();
    await h.send(ev.streamStarted(), ev.final("i want to talk to a person"));
    const line = h.replies()[0]!;
    expect(line.text).toBe("Of course, let me put you through now.");
    expect(h.cmds).toEqual([]);
    await h.send(ev.mark(line.utteranceId));
    expect(h.cmds).toEqual([expect.objectContaining({ type: "transfer", to: "+14155550100" })]);
    expect((await h.transcript()).at(-1)).toMatchObject({ role: "system", text: "transferred to +14155550100" });
    expect(h.store.events).toContainEqual(
      expect.objectContaining({ type: "tool.called", data: { name: "transfer_call", args: { to: "+14155550100" } } }),
    );
    // Handed on: nothing more is answered.
    await h.send(ev.final("hello?"));
    expect(h.replies()).toHaveLength(1);
  });

  it("end_call: hangs up after the goodbye, the turn's last sentence, is heard", async () => {
    const h = await conversationHarness();
    await h.send(ev.streamStarted(), ev.final("goodbye"));
    const bye = h.said("Goodbye!")!;
    await h.send(ev.mark(h.replies()[0]!.utteranceId));
    expect(h.cmds).toEqual([]);
    await h.send(ev.mark(bye.utteranceId));
    expect(h.cmds).toEqual([expect.objectContaining({ type: "hangup", reason: "agent:goodbye" })]);
  });

  it("tools: arguments are parsed by the contract; malformed and unknown calls are ignored, send_digits reaches media", async () => {
    const model = scripted([
      { type: "text", text: "<think>The menu wants 1.</think>Okay, **pressing** one. " },
      { type: "tool_call", name: "transfer_call", args: { to: 5 } },
      { type: "tool_call", name: "send_digits", args: { digits: "1; rm -rf" } },
      { type: "tool_call", name: "format_disk", args: {} },
      { type: "tool_call", name: "send_digits", args: { digits: "1" } },
    ]);
    const { says, ctls, cmds, harness: h } = await runConversation([ev.final("for sales press one")], { model });
    expect(says.filter((s) => s.purpose === "reply").map((s) => s.text)).toEqual(["Okay, pressing one."]);
    expect(ctls.filter((c) => c.type === "send-digits")).toEqual([expect.objectContaining({ digits: "1" })]);
    expect(cmds).toEqual([]);
    expect(h.log.filter((l) => /tool call ignored/.test(String(l.msg))).map((l) => l.msg)).toEqual([
      "malformed tool call ignored",
      "malformed tool call ignored",
      "unknown tool call ignored",
    ]);
  });

  it("drops a stale reply when the caller spoke again before it came", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    // A slow model that ignores cancellation: only the generation fence can stop its answer.
    const slow: LanguageModel = {
      label: "slow",
      async *chat({ messages }) {
        const last = messages.at(-1)!.content;
        if (last === "slow question") {
          await gate;
          yield { type: "text", text: "Late answer. " };
          yield { type: "text", text: "Still late." };
          return;
        }
        yield { type: "text", text: `Fresh answer to ${last}.` };
      },
    };
    const h = await conversationHarness({ model: slow });
    await h.send(ev.streamStarted());
    await h.push(ev.final("slow question"));
    await h.send(ev.final("second question"));
    const fresh = h.said("Fresh answer to second question.")!;
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(h.spoken().filter((s) => /late/i.test(s.text))).toEqual([]);
    expect(h.ctls).toContainEqual(expect.objectContaining({ type: "cancel", beforeGeneration: fresh.generation }));
  });

  it("re-prompts after silence, then says goodbye and hangs up once it was heard; caller activity resets the count", async () => {
    const h = await conversationHarness({ config: { SILENCE_REPROMPT_MS: 60 } });
    await h.send(ev.streamStarted());
    await h.send(ev.mark(h.said("greeting")!.utteranceId));
    const until = async (f: () => unknown) => {
      for (let i = 0; i < 100 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
      return f();
    };
    const p = (await until(() => h.said(script.reprompt))) as ReturnType<typeof h.said>;
    await h.send(ev.speechStarted(), ev.speechStopped(), ev.mark(p!.utteranceId));
    // Speech reset the count: the next silence is a first one again (a re-prompt, no goodbye).
    await until(() => h.spoken().filter((s) => s.text === script.reprompt).length === 2);
    expect(h.said(script.goodbye)).toBeUndefined();
    await h.send(ev.mark(h.spoken().filter((s) => s.text === script.reprompt)[1]!.utteranceId));
    const bye = (await until(() => h.said(script.goodbye))) as ReturnType<typeof h.said>;
    expect(h.cmds).toEqual([]);
    await h.send(ev.mark(bye!.utteranceId));
    expect(h.cmds).toEqual([expect.objectContaining({ type: "hangup", reason: "caller-silent" })]);
  });

  describe("turns in flight during a fault", () => {
    it("a new owner of a live call says the unheard greeting again at once, and continues from the transcript", async () => {
      const first = await conversationHarness({ call: { mode: "conversation", greeting: "Takeover greeting." } });
      await first.send(ev.streamStarted(), ev.final("when are you open"));
      first.stop();
      const h = await conversationHarness({
        store: first.store,
        call: { callId: first.callId, mode: "conversation" },
        streamLive: true,
      });
      const g = h.said("greeting")!;
      expect(g.text).toBe("Takeover greeting.");
      // The stream.started of the stream found live is not a new stream: no second greeting.
      await h.send({ ...ev.streamStarted(), ts: Date.now() - 1000 });
      expect(h.spoken().filter((s) => s.purpose === "greeting")).toHaveLength(1);
      await h.send(ev.mark(g.utteranceId), ev.final("i would like to book an appointment"));
      expect(h.said("reply")!.text).toMatch(/^Sure\./);
      expect(h.conv.messages.map((m) => m.role)).toEqual(["user", "user", "assistant"]);
    });

    it("a caller line no agent handled is answered by the next owner, once; a handled one is not answered again", async () => {
      const store = (await conversationHarness({ call: { mode: "conversation", greeting: "Hi." } })).store;
      const [callId] = [...store.calls.keys()];
      await store.update(callId!, {
        greetingPlayed: true,
        lastFinalTs: Date.now(),
        lastFinalText: "what are your opening hours",
      });
      const b = await conversationHarness({ store, call: { callId: callId!, mode: "conversation" }, streamLive: true });
      expect(b.replies().map((r) => r.text)).toEqual([HOURS, "Is there anything else?"]);
      expect(b.record().handledFinalTs).toBe(b.record().lastFinalTs);
      // The same line, live, after it was recovered: heard already.
      await b.send({ ...ev.final("what are your opening hours"), ts: b.record().lastFinalTs });
      b.stop();
      const c = await conversationHarness({ store, call: { callId: callId!, mode: "conversation" }, streamLive: true });
      await c.send(ev.operator("barrier"));
      expect([b.replies().length, c.replies().length]).toEqual([2, 0]);
      expect((await c.transcript()).filter((t) => t.role === "caller")).toHaveLength(1);
    });

    it("a backchannel or an old line is not answered on recovery", async () => {
      const h0 = await conversationHarness({
        call: {
          mode: "conversation",
          greeting: "Hi.",
          greetingPlayed: true,
          lastFinalTs: Date.now(),
          lastFinalText: "uh huh",
        },
      });
      expect(h0.replies()).toHaveLength(0);
      await h0.send(ev.streamStarted());
      expect(h0.replies()).toHaveLength(0);
      h0.stop();
      const b = await conversationHarness({
        store: h0.store,
        call: { callId: h0.callId, mode: "conversation" },
        streamLive: true,
      });
      expect(b.record().handledFinalTs).toBe(b.record().lastFinalTs);
      expect(b.replies()).toHaveLength(0);
      b.stop();
      await b.store.update(b.callId, {
        lastFinalTs: Date.now() - 60_000,
        lastFinalText: "book an appointment",
        handledFinalTs: 0,
      });
      const c = await conversationHarness({
        store: b.store,
        call: { callId: b.callId, mode: "conversation" },
        streamLive: true,
      });
      expect(c.replies()).toHaveLength(0);
    });

    it("a reply cut by the media worker's death is said again on the new stream: only the unheard, uncut sentences", async () => {
      const h = await conversationHarness({ call: { mode: "conversation", greeting: "Hi." } });
      await h.send(ev.streamStarted());
      await h.send(ev.mark(h.said("greeting")!.utteranceId));
      await h.final("what are your opening hours");
      const [first, second] = h.replies();
      await h.send(ev.mark(first!.utteranceId), ev.streamStarted());
      const again = h.replies()[2]!;
      expect(again).toMatchObject({ text: second!.text, generation: second!.generation, endOfTurn: true });
      expect(again.utteranceId).not.toBe(second!.utteranceId);
      expect(h.replies()).toHaveLength(3);
      await h.send(ev.mark(again.utteranceId), ev.streamStarted());
      expect(h.replies()).toHaveLength(3);
      expect((await h.transcript()).filter((t) => t.role === "agent").map((t) => t.text)).toEqual([
        "Hi.",
        first!.text,
        second!.text,
      ]);
    });

    it("a reply the caller cut is not said again on a new stream, nor one whose stream stopped", async () => {
      const h = await conversationHarness({ call: { mode: "conversation", greeting: "Hi." } });
      await h.send(ev.streamStarted());
      await h.send(ev.mark(h.said("greeting")!.utteranceId), ev.final("what are your opening hours"));
      await h.send(ev.interrupted(h.replies()[0]!.utteranceId, 1000, 4000), ev.streamStarted());
      expect(h.replies()).toHaveLength(2);
    });

    it("a say without audio is sent again (same utteranceId), at most twice; one whose audio came is not", async () => {
      const h = await conversationHarness({
        call: { mode: "conversation", greeting: "Hi." },
        config: { SAY_RETRY_MS: 30 },
      });
      await h.send(ev.streamStarted());
      const g = h.said("greeting")!;
      await h.send(ev.firstChunk(g.utteranceId), ev.mark(g.utteranceId), ev.final("what are your opening hours"));
      const [first, second] = h.replies();
      await h.send(ev.firstChunk(second!.utteranceId));
      await new Promise((r) => setTimeout(r, 200));
      const copies = h.spoken().filter((s) => s.utteranceId === first!.utteranceId);
      expect(copies).toHaveLength(3);
      expect(copies.every((s) => s.text === first!.text && s.generation === first!.generation)).toBe(true);
      expect(h.spoken().filter((s) => s.utteranceId === second!.utteranceId)).toHaveLength(1);
      expect(h.spoken().filter((s) => s.utteranceId === g.utteranceId)).toHaveLength(1);
    });
  });
});
