import type { TwimlHost } from "./interpreter";
import type { SimCall } from "./call";
import { sleep } from "./sleep";

/** The verbs' effects on a simulated call (what the caller hears, streams, digits, transfers). */
export function verbHost(call: SimCall, signal: AbortSignal): TwimlHost {
  return {
    signal,
    async say(v) {
      call.answer();
      for (let i = 0; i < Math.max(1, v.loop); i++)
        call.recorder.sayTexts.push({ atMs: call.recorder.now(), text: v.text, source: "twiml" });
      call.event("say", { text: v.text });
      if (call.ctx.knobs.sayMsPerChar)
        await sleep(v.text.length * call.ctx.knobs.sayMsPerChar * Math.max(1, v.loop), signal);
    },
    async play(v) {
      call.answer();
      call.recorder.plays.push({ atMs: call.recorder.now(), url: v.url });
      call.event("play", { url: v.url });
    },
    pause: async (ms) => {
      call.answer();
      await sleep(ms, signal);
    },
    connectStream: (spec) => {
      call.answer();
      return call.streams.connect(spec, signal);
    },
    startStream: (spec) => {
      call.answer();
      call.streams.startUnidirectional(spec);
    },
    stopStream: (name) => call.streams.stopNamed(name),
    gather: async (v) => {
      call.answer();
      call.event("gather", { numDigits: v.numDigits, timeoutSec: v.timeoutSec });
      for (const n of v.nested)
        if (n.verb === "Say") call.recorder.sayTexts.push({ atMs: call.recorder.now(), text: n.text, source: "twiml" });
      return call.keypad.collect(v.numDigits, v.finishOnKey, v.timeoutSec * 1000, signal);
    },
    dial: async (targets) => {
      call.answer();
      for (const t of targets) call.transfers.push({ atMs: call.recorder.now(), kind: t.kind, value: t.value });
      call.event("dial", { targets });
    },
    warn: (code, message) => call.warn(code, message),
  };
}
