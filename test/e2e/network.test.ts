import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import { roundTrip, type Heard, type MarkRecord, type NetworkConditions } from "@voicecall/twilio-sim";
import { CallEvent } from "@voicecall/contracts";
import { heardPart } from "../../services/agent/src/caller-heard";

/**
 * Outbound audio over a real network's round trip: the whole stack offline, the simulator's Media Streams
 * socket delayed by half the RTT each way with ±30 ms jitter (order kept, as TCP), three calls at once at
 * RTT 0, 150 and 300 ms. Each: the greeting and the reply play with no gap inside an utterance; a barge-in
 * sends `clear` within the policy time (plus the round trip it has to travel); the agent's history keeps
 * what the caller heard of the cut reply, within one word (±100 ms of audio).
 */
const JITTER_MS = 30;
const RTTS = [0, 150, 300];
const REPLY = "We are open Monday to Friday from nine in the morning to six in the evening.";
/** media's BARGE_IN_MIN_SPEECH_MS default: caller speech before the pause. */
const POLICY_MS = 200;

const nets: Record<string, NetworkConditions> = Object.fromEntries(
  RTTS.map((rtt, i) => [`+1415555014${i}`, roundTrip(rtt, JITTER_MS)]),
);

let v: VoiceStack;
const events: CallEvent[] = [];
beforeAll(async () => {
  v = await startVoiceStack({ sim: { dialPolicy: (r) => ({ network: nets[r.To] }) } });
  v.bus.subscribe("vc.call.*.evt", CallEvent, (e) => void events.push(e));
}, 120_000);
afterAll(async () => {
  await v?.stop();
});

/** Marks of one utterance that playback reached, in order (names are `<utteranceId>:<n>`). */
const playedMarks = (h: Heard, utteranceId: string): MarkRecord[] =>
  h.marks.filter((m) => m.name.startsWith(`${utteranceId}:`) && !m.cleared && m.playedAtMs !== undefined);

/**
 * Silence inside the utterance (ms): from its second mark to its last reached one, the player's clock
 * moved on by more than the audio it played in between. Not from the first: that one stands before any of
 * its audio, and when it overtakes nothing in flight it is reached as it arrives, before the audio does;
 * the audio up to the second mark is one message, which cannot stall.
 */
function gapInside(h: Heard, utteranceId: string): number {
  const ms = playedMarks(h, utteranceId).slice(1);
  if (ms.length < 2) return 0;
  const a = ms[0]!;
  const b = ms.at(-1)!;
  const gap = b.playedAtMs! - a.playedAtMs! - (b.heardMs! - a.heardMs!);
  if (gap > 1 && process.env.DEBUG_GAPS)
    console.log(
      utteranceId,
      JSON.stringify(
        ms.map((m) => [
          m.name,
          Math.round(m.playedAtMs!),
          Math.round(m.heardMs!),
          Math.round(m.receivedAtMs),
          Math.round(m.queuedAheadMs),
        ]),
      ),
    );
  return gap;
}

const wordCount = (t: string) => t.split(/\s+/).filter(Boolean).length;

describe("outbound audio over a network with a round trip", () => {
  it.each(RTTS.map((rtt, i) => [rtt, i] as const))(
    "RTT %i ms ±30 ms: no gap inside an utterance, barge-in clear in policy time, history within one word",
    async (rtt, i) => {
      const to = `+1415555014${i}`;
      const created = await v.api<{ callId: string }>("POST", "/api/calls", {
        to,
        mode: "conversation",
        greeting: "Hello, thanks for calling Acme Dental. How can I help?",
      });
      expect(created.status).toBe(202);
      const { callId } = created.json;
      const phone = await waitFor(() => v.sim.calls().find((c) => c.to === to), "the call rings", 30_000);
      await phone.waitForStream(1, 30_000);
      await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 40_000, 100);
      const mine = () => events.filter((e) => e.callId === callId);
      const done = () =>
        mine().filter((e): e is Extract<CallEvent, { type: "playback.mark" }> => e.type === "playback.mark" && e.done);
      for (const d of done())
        expect(gapInside(phone.heard(), d.utteranceId), `greeting ${d.utteranceId}`).toBeLessThanOrEqual(5);

      // The answer, cut by the caller once a second of it has been heard.
      const before = phone.heard().ms;
      await phone.say("when are you open");
      await phone.waitForAudio(before + 1200, 40_000);
      const clearsBefore = phone.heard().clears.length;
      const doneBefore = done().length;
      const eventsBefore = phone.events.length;
      void phone.say("book an appointment");
      // The caller's voice starts going out right after this event (the synthesis before it does not count).
      const onset = (
        await waitFor(
          () => phone.events.slice(eventsBefore).find((e) => e.type === "caller.say"),
          "caller speaks",
          20_000,
        )
      ).atMs;
      const clear = await waitFor(() => phone.heard().clears[clearsBefore], "clear", 20_000);
      const cut = await waitFor(
        () => mine().find((e): e is Extract<CallEvent, { type: "interrupted" }> => e.type === "interrupted"),
        "interrupted",
        20_000,
      );
      expect(gapInside(phone.heard(), cut.utteranceId), "the cut answer, up to the cut").toBeLessThanOrEqual(5);
      // Onset → clear at Twilio: the policy's hold, the round trip, the jitter both ways and the VAD/STT/loaded-machine slack.
      expect(clear.atMs - onset).toBeLessThanOrEqual(POLICY_MS + rtt + 2 * JITTER_MS + 300);
      await waitFor(
        async () => (await v.store.transcript(callId)).some((t) => t.interrupted),
        "history cut",
        30_000,
        100,
      );
      const kept = (await v.store.transcript(callId)).find((t) => t.interrupted)!;
      expect(REPLY.startsWith(kept.text)).toBe(true);

      // What the caller heard of the cut utterance by its last cut (a loaded machine can make the first one a
      // false interruption that resumes): where the run that the clear ended started in the utterance, plus
      // what played of that run, from its start mark to the playhead the clear found.
      const t0 = phone.call.recorder.t0;
      const last = mine()
        .filter(
          (e): e is Extract<CallEvent, { type: "interrupted" }> =>
            e.type === "interrupted" && e.utteranceId === cut.utteranceId,
        )
        .at(-1)!;
      const resumed = mine()
        .filter(
          (e): e is Extract<CallEvent, { type: "resumed" }> =>
            e.type === "resumed" && e.utteranceId === cut.utteranceId && e.ts <= last.ts,
        )
        .at(-1);
      // Its clear may still be on its way.
      const k = await waitFor(
        () => {
          const i = phone.heard().clears.findIndex((c) => t0 + c.atMs >= last.ts - 5);
          return i >= 0 ? i + 1 : undefined;
        },
        "the last cut's clear",
        10_000,
      ).then((i) => i - 1);
      const heard = phone.heard();
      const finalClear = heard.clears[k]!;
      const prevClearAt = k > 0 ? heard.clears[k - 1]!.atMs : -Infinity;
      const runStart = heard.marks.find(
        (m) => m.name.startsWith(`${cut.utteranceId}:`) && m.receivedAtMs > prevClearAt,
      )!;
      const heardMs = (resumed?.fromMs ?? 0) + finalClear.heardMs - runStart.heardMs!;
      if (process.env.DEBUG_GAPS)
        console.log(
          JSON.stringify({
            kept,
            heardMs,
            cuts: mine().filter((e) => e.type === "interrupted" || e.type === "resumed"),
          }),
        );
      expect(Math.abs(last.playedMs - heardMs)).toBeLessThanOrEqual(100);
      expect(Math.abs(wordCount(kept.text) - wordCount(heardPart(REPLY, heardMs, last.totalMs)))).toBeLessThanOrEqual(
        1,
      );
      console.log(
        `[measure] rtt ${rtt}: onset → clear ${Math.round(clear.atMs - onset)} ms, playedMs ${Math.round(last.playedMs)} vs heard ${Math.round(heardMs)} (reported error ${last.playedErrMs} ms)`,
      );

      // The next reply (to the barge-in) plays whole, with no gap.
      await waitFor(() => done().length > doneBefore, "the next reply played", 40_000, 100);
      for (const d of done().slice(doneBefore))
        expect(gapInside(phone.heard(), d.utteranceId), `reply ${d.utteranceId}`).toBeLessThanOrEqual(5);
      await phone.hangup();
    },
    180_000,
  );
});
