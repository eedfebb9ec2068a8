import { randomUUID } from "node:crypto";
import type { AudioChunkHeaders, CallRecord } from "@voicecall/contracts";
import type { CallStore } from "@voicecall/store";

export interface PrerenderedGreetingAudio {
  header: AudioChunkHeaders;
  audio: Uint8Array;
}

/**
 * The call's greeting, if tts rendered it while the phone rang (issue #20): media plays it on `start`
 * itself, so the greeting's first frame waits for one Redis read (started beside the stream's admission)
 * and one socket write, not for agent → say → tts → bus. Only for a pipeline conversation whose greeting
 * has not been heard yet and is still the text that was rendered. The agent learns the utterance id from
 * `stream.started` and treats it as its own say: it counts as played only when its done mark echoes, and
 * a new stream before that plays it again (the record stays until it expires).
 */
type Stored = Awaited<ReturnType<CallStore["prerenderedGreeting"]>>;

/** Read the call's pre-rendered greeting by the start frame's callId, beside the stream's admission (same round trip time). */
export function readPrerendered(
  store: Pick<CallStore, "prerenderedGreeting">,
  callId: string | undefined,
): Promise<Stored> {
  // Only a well-formed id is looked up: the start frame is not verified yet (admission runs beside this).
  if (!callId || !/^[A-Za-z0-9_-]{1,64}$/.test(callId)) return Promise.resolve(null);
  return store.prerenderedGreeting(callId);
}

/** What media plays of `pre` for the admitted `call`: nothing unless it is still the call's unheard greeting. */
export function greetingToPlay(call: CallRecord, pre: Stored | undefined): PrerenderedGreetingAudio | undefined {
  if (call.mode !== "conversation" || call.engine === "realtime" || call.greetingPlayed || !call.greeting)
    return undefined;
  if (!pre || pre.text !== call.greeting) return undefined;
  const header: AudioChunkHeaders = {
    callId: call.callId,
    utteranceId: `greeting-${randomUUID().slice(0, 8)}`,
    seq: 0,
    last: true,
    generation: call.generation ?? 0,
    purpose: "greeting",
    text: pre.text,
  };
  return { header, audio: pre.audio };
}
