/**
 * The barge-in decisions for each scripted noise, on the stream's own clock, without the stack:
 * `npx tsx bench/noise-policy.ts` (prints Markdown). Each noise (and each real barge-in sentence) is played
 * over agent speech through the real speech pipeline (WebRTC VAD, pocketsphinx with the script grammar) and
 * the real policy, level floor included; the caller's level is learnt from one question first. Stream time
 * stops while a decode runs (its wall time is reported apart), so the numbers do not depend on machine load.
 *
 * `STT_PROVIDER=deepgram`: the Deepgram-protocol path (our provider, the local fake over a WebSocket). What
 * the fake "hears" is scripted per sound (`vendorText`: what a vendor model returns for it, revealed word by
 * word as its audio arrives): the column measures the pipeline and the policy around a streaming
 * recogniser, not a recogniser.
 */
import { FRAME_BYTES, mulawDecode, mulawEncode } from "@voicecall/audio";
import { synthesize } from "@voicecall/twilio-sim";
import { jsgfGrammar, loadScript } from "@voicecall/dialogue";
import { createSpeechPipelineFactory } from "../services/media/src/speech/index";
import { bargeInConfig, parseMediaConfig } from "../services/media/src/config";
import { BargeInPolicy, type BargeInDecision } from "../services/media/src/barge-in";
import { secondOpinionGrammar } from "../services/media/src/speech/second-opinion";
import { LevelFloor, voicedRms } from "../services/media/src/level-floor";
import type { SpeechEvent } from "../services/media/src/speech/types";
import { trimSilence } from "./audio";
import { scriptedNoises } from "./noises";
import { startFakeDeepgram } from "@voicecall/media/testing";

const AGENT_TEXT =
  "we are open monday to friday from nine in the morning to six in the evening. is there anything else i can help you with today?";
/** What a vendor model returns for each sound (assumed): nothing for non-speech, the murmur as a word, speech as itself. */
const VENDOR: Record<string, string> = {
  "uh huh": "uh-huh",
  "mm hmm": "mm-hmm",
  yeah: "yeah",
  right: "right",
  "background speech −20 dB": "i told him we would meet at the station after work tomorrow",
};
/** The sound now playing (Deepgram path): its text, where it starts and how long it is (stream ms). */
let now = { text: "", fromMs: 0, ms: 1 };
/** Audio the fake had finalised before, on this connection (it hands `transcribe` only what came since). */
let base = 0;
let prevLen = 0;
const dg = process.argv.includes("STT_PROVIDER=deepgram")
  ? await startFakeDeepgram({
      apiKey: "bench-key",
      transcribe(mu) {
        if (mu.length < prevLen) base += prevLen;
        prevLen = mu.length;
        const [from, to] = [base / 8, (base + mu.length) / 8];
        const w = now.text.split(" ").filter(Boolean);
        // Word i is known once its share of the sound has arrived.
        return w
          .filter((_, i) => {
            const end = now.fromMs + ((i + 1) / w.length) * now.ms;
            return end > from && end <= to;
          })
          .join(" ");
      },
    })
  : undefined;
const env = {
  PUBLIC_URL: "https://bench.test",
  STREAM_TOKEN_SECRET: "0123456789abcdef0123",
  ...(dg ? { DEEPGRAM_API_KEY: "bench-key", DEEPGRAM_URL: dg.url } : {}),
  ...Object.fromEntries(process.argv.slice(2).map((kv) => kv.split("=", 2) as [string, string])),
};
const cfg = parseMediaConfig(env);
const speech = await createSpeechPipelineFactory(cfg, {
  grammar: cfg.STT_VOCABULARY === "open" ? undefined : jsgfGrammar(loadScript()),
  secondOpinion: cfg.BARGE_IN_SECOND_OPINION && cfg.STT_VOCABULARY === "open" ? secondOpinionGrammar() : undefined,
});
const agent = trimSilence(await synthesize(AGENT_TEXT));
const question = trimSilence(await synthesize("what are your opening hours"));
const items: { name: string; mu: Uint8Array; turn: boolean; text: string; fromMs?: number }[] = [];
for (const n of await scriptedNoises(trimSilence)) {
  if (n.mu) items.push({ name: n.name, mu: n.mu, turn: false, text: VENDOR[n.name] ?? "" });
  else if (n.echo) {
    // The agent's own audio, gainDb down, delayMs late, for `ms`.
    const pcm = mulawDecode(agent.subarray(0, n.echo.ms * 8));
    const out = new Int16Array(pcm.length + n.echo.delayMs * 8);
    const g = 10 ** (n.echo.gainDb / 20);
    pcm.forEach((v, i) => (out[i + n.echo!.delayMs * 8] = Math.round(v * g)));
    // The words of the echoed part, as a vendor would transcribe them.
    const w = AGENT_TEXT.split(" ");
    const text = w
      .slice(0, Math.floor((w.length * n.echo.ms) / (agent.length / 8)))
      .join(" ")
      .replace(/[.?]/g, "");
    items.push({ name: n.name, mu: mulawEncode(out), turn: false, text, fromMs: n.echo.delayMs });
  }
}
for (const t of [
  "what are your opening hours",
  "no thanks",
  "i want to talk to a person",
  "stop",
  "wait",
  "hold on",
  "no",
])
  items.push({ name: `barge-in: "${t}"`, mu: trimSilence(await synthesize(t)), turn: true, text: t });

const conf = (c: number | undefined) => (c === undefined ? "" : ` [${c.toFixed(2)}]`);
const tick = () => new Promise<void>((r) => setImmediate(r));
console.log(
  `config: ${
    Object.entries(env)
      .filter(([k]) => !["PUBLIC_URL", "STREAM_TOKEN_SECRET"].includes(k))
      .map(([k, v]) => `${k}=${v}`)
      .join(" ") || "defaults"
  }\n`,
);
console.log(
  "| sound over agent speech | paused at (ms after its onset) | outcome | decided (ms after its last frame, stream clock) | decodes (wall ms) | heard as |",
);
console.log("|---|---:|---|---:|---:|---|");
for (const it of items) {
  const leadMs = 500;
  now = { text: it.text, fromMs: leadMs + (it.fromMs ?? 0), ms: it.mu.length / 8 - (it.fromMs ?? 0) };
  base = prevLen = 0;
  const p = speech.open({ callId: it.name, signal: new AbortController().signal });
  const policy = new BargeInPolicy(bargeInConfig(cfg));
  policy.earlyCheck = !!(p.peek ?? p.endNow);
  policy.checkAhead = !!p.peek;
  policy.agentSaid(AGENT_TEXT);
  p.setOverAgent?.(true);
  const floor = new LevelFloor({
    echoGuardDb: cfg.BARGE_IN_ECHO_GUARD_DB,
    callerFloorDb: cfg.BARGE_IN_CALLER_FLOOR_DB,
  });
  floor.agentAudio("reply", agent);
  floor.callerTurn(voicedRms(question));
  const got: SpeechEvent[] = [];
  const drained = (async () => {
    for await (const e of p.events) got.push(e);
  })();
  const mu = new Uint8Array(leadMs * 8 + it.mu.length + 3000 * 8).fill(0xff);
  mu.set(it.mu, leadMs * 8);
  const endMs = leadMs + it.mu.length / 8;
  let paused: number | undefined;
  let outcome = "no pause";
  let decidedAt: number | undefined;
  const decodes: number[] = [];
  const heard: string[] = [];
  let seen = 0;
  let onsetMs = 0;
  const apply = (d: BargeInDecision, t: number) => {
    if (d === "pause" && paused === undefined) paused = t;
    // A final with words over the agent cuts without a pause first (media's confirm pauses, then drops).
    else if (d === "confirm" && paused === undefined) ((paused = t), (outcome = "cut (turn)"), (decidedAt = t));
    else if ((d === "resume" || d === "confirm") && decidedAt === undefined && paused !== undefined)
      ((outcome = d === "resume" ? "resumed" : "cut (turn)"), (decidedAt = t));
  };
  for (let i = 0, t = 20; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES, t += 20) {
    p.setLevelFloor!(floor.floor(paused !== undefined && decidedAt === undefined ? undefined : "reply"));
    p.push(mu.subarray(i, i + FRAME_BYTES));
    await tick();
    const state = paused !== undefined && decidedAt === undefined ? "idle" : "speaking";
    let d = policy.tick(t, state, p.lastVoicedMs, p.lastLoudMs);
    if (d === "check") {
      const w = performance.now();
      if (p.peek) {
        const h = (await p.peek({ quietMs: policy.resumeGapMs })) ?? { text: "" };
        decodes.push(Math.round(performance.now() - w));
        heard.push(`${h.text || "∅"}${conf(h.confidence)} (early, ${p.lastVoicedMs! - onsetMs} ms)`);
        d = policy.checked(h.text, p.lastVoicedMs!, t, h.confidence, h.fixed);
      } else {
        p.endNow!(); // streaming: the final that answers it decides
        d = null;
      }
    }
    apply(d, t);
    for (; seen < got.length; seen++) {
      const e = got[seen]!;
      if (e.type === "speech.started") policy.speechStarted((onsetMs = e.atMs));
      if (e.type === "speech.stopped") {
        policy.speechStopped(e.atMs, e.durationMs);
        // Stream time stops until the recogniser answers.
        const w = performance.now();
        while (!got.slice(seen + 1).some((x) => x.type === "transcript.final" || x.type === "transcript.none"))
          await tick();
        decodes.push(Math.round(performance.now() - w));
      }
      if (e.type === "transcript.partial") policy.partial(e.text);
      if (e.type === "transcript.final" || e.type === "transcript.none") {
        const text = e.type === "transcript.final" ? e.text : "";
        const c = e.type === "transcript.final" ? e.confidence : undefined;
        const fixed = e.type === "transcript.final" ? e.fixed : undefined;
        const f = fixed ? ` / fixed: ${fixed.text || "∅"}${conf(fixed.confidence)}` : "";
        heard.push(`${text || "∅"}${conf(c)}${f} (${e.speechMs} ms)`);
        apply(policy.final(text, state, c, fixed, e.speechMs), t);
      }
    }
  }
  p.close();
  await drained; // the recogniser's last answer (Deepgram: CloseStream) is in before the next sound
  const ok = it.turn ? outcome === "cut (turn)" : outcome !== "cut (turn)";
  console.log(
    `| ${it.name} | ${paused === undefined ? "-" : paused - leadMs} | ${outcome}${ok ? "" : " ✗"} | ${decidedAt === undefined ? "-" : Math.round(decidedAt - endMs)} | ${decodes.join(", ") || "-"} | ${heard.join(", ")} |`,
  );
}
await speech.close();
await dg?.close();
process.exit(0);
