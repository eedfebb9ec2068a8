/**
 * The barge-in decisions for each scripted noise, on the stream's own clock, without the stack:
 * `npx tsx bench/noise-policy.ts` (prints Markdown). Each noise (and each real barge-in sentence) is played
 * over agent speech through the real speech pipeline (WebRTC VAD, pocketsphinx with the script grammar) and
 * the real policy, level floor included; the caller's level is learnt from one question first. Stream time
 * stops while a decode runs (its wall time is reported apart), so the numbers do not depend on machine load.
 */
import { FRAME_BYTES, mulawDecode, mulawEncode } from "@voicecall/audio";
import { synthesize } from "@voicecall/twilio-sim";
import { jsgfGrammar, loadScript } from "@voicecall/dialogue";
import { createSpeechPipelineFactory } from "../services/media/src/speech/index";
import { bargeInConfig, parseMediaConfig } from "../services/media/src/config";
import { BargeInPolicy, type BargeInDecision } from "../services/media/src/barge-in";
import { LevelFloor, voicedRms } from "../services/media/src/level-floor";
import type { SpeechEvent } from "../services/media/src/speech/types";
import { trimSilence } from "./audio";
import { scriptedNoises } from "./noises";

const env = { PUBLIC_URL: "https://bench.test", STREAM_TOKEN_SECRET: "0123456789abcdef0123", ...Object.fromEntries(process.argv.slice(2).map((kv) => kv.split("=", 2) as [string, string])) };
const cfg = parseMediaConfig(env);
const speech = await createSpeechPipelineFactory(cfg, { grammar: cfg.STT_VOCABULARY === "open" ? undefined : jsgfGrammar(loadScript()) });
const agent = trimSilence(await synthesize("we are open monday to friday from nine in the morning to six in the evening. is there anything else i can help you with today?"));
const question = trimSilence(await synthesize("what are your opening hours"));
const items: { name: string; mu: Uint8Array; turn: boolean }[] = [];
for (const n of await scriptedNoises(trimSilence)) {
  if (n.mu) items.push({ name: n.name, mu: n.mu, turn: false });
  else if (n.echo) {
    // The agent's own audio, gainDb down, delayMs late, for `ms`.
    const pcm = mulawDecode(agent.subarray(0, n.echo.ms * 8));
    const out = new Int16Array(pcm.length + n.echo.delayMs * 8);
    const g = 10 ** (n.echo.gainDb / 20);
    pcm.forEach((v, i) => (out[i + n.echo!.delayMs * 8] = Math.round(v * g)));
    items.push({ name: n.name, mu: mulawEncode(out), turn: false });
  }
}
for (const t of ["what are your opening hours", "no thanks", "i want to talk to a person", "stop"]) items.push({ name: `barge-in: "${t}"`, mu: trimSilence(await synthesize(t)), turn: true });

const tick = () => new Promise<void>((r) => setImmediate(r));
console.log(`config: ${Object.entries(env).filter(([k]) => !["PUBLIC_URL", "STREAM_TOKEN_SECRET"].includes(k)).map(([k, v]) => `${k}=${v}`).join(" ") || "defaults"}\n`);
console.log("| sound over agent speech | paused at (ms after its onset) | outcome | decided (ms after its last frame, stream clock) | decodes (wall ms) | heard as |");
console.log("|---|---:|---|---:|---:|---|");
for (const it of items) {
  const p = speech.open({ callId: it.name, signal: new AbortController().signal });
  const policy = new BargeInPolicy(bargeInConfig(cfg));
  policy.earlyCheck = !!p.peek;
  const floor = new LevelFloor({ echoGuardDb: cfg.BARGE_IN_ECHO_GUARD_DB, callerFloorDb: cfg.BARGE_IN_CALLER_FLOOR_DB });
  floor.agentAudio("reply", agent);
  floor.callerTurn(voicedRms(question));
  const got: SpeechEvent[] = [];
  void (async () => {
    for await (const e of p.events) got.push(e);
  })();
  const leadMs = 500;
  const mu = new Uint8Array(leadMs * 8 + it.mu.length + 3000 * 8).fill(0xff);
  mu.set(it.mu, leadMs * 8);
  const endMs = leadMs + it.mu.length / 8;
  let paused: number | undefined;
  let outcome = "no pause";
  let decidedAt: number | undefined;
  const decodes: number[] = [];
  const heard: string[] = [];
  let seen = 0;
  const apply = (d: BargeInDecision, t: number) => {
    if (d === "pause" && paused === undefined) paused = t;
    else if ((d === "resume" || d === "confirm") && decidedAt === undefined && paused !== undefined) (outcome = d === "resume" ? "resumed" : "cut (turn)"), (decidedAt = t);
  };
  for (let i = 0, t = 20; i + FRAME_BYTES <= mu.length; i += FRAME_BYTES, t += 20) {
    p.setLevelFloor!(floor.floor(paused !== undefined && decidedAt === undefined ? undefined : "reply"));
    p.push(mu.subarray(i, i + FRAME_BYTES));
    await tick();
    const state = paused !== undefined && decidedAt === undefined ? "idle" : "speaking";
    let d = policy.tick(t, state, p.lastVoicedMs);
    if (d === "check") {
      const w = performance.now();
      const text = (await p.peek!()) ?? "";
      decodes.push(Math.round(performance.now() - w));
      heard.push(`${text || "∅"} (early)`);
      d = policy.checked(text, p.lastVoicedMs!, t);
    }
    apply(d, t);
    for (; seen < got.length; seen++) {
      const e = got[seen]!;
      if (e.type === "speech.started") policy.speechStarted(e.atMs);
      if (e.type === "speech.stopped") {
        policy.speechStopped(e.atMs, e.durationMs);
        // Stream time stops until the recogniser answers.
        const w = performance.now();
        while (!got.slice(seen + 1).some((x) => x.type === "transcript.final" || x.type === "transcript.none")) await tick();
        decodes.push(Math.round(performance.now() - w));
      }
      if (e.type === "transcript.final" || e.type === "transcript.none") {
        const text = e.type === "transcript.final" ? e.text : "";
        heard.push(text || "∅");
        apply(policy.final(text, state), t);
      }
    }
  }
  p.close();
  const ok = it.turn ? outcome === "cut (turn)" : outcome !== "cut (turn)";
  console.log(`| ${it.name} | ${paused === undefined ? "-" : paused - leadMs} | ${outcome}${ok ? "" : " ✗"} | ${decidedAt === undefined ? "-" : Math.round(decidedAt - endMs)} | ${decodes.join(", ") || "-"} | ${heard.join(", ")} |`);
}
await speech.close();
process.exit(0);
