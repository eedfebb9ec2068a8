import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallEvent, SayMessage, subjects } from "@voicecall/contracts";
import { requireBinary, startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import { callerScript, phoneBrowser } from "./chromium";

/**
 * The browser phone in real headless Chromium: the page speaks Media Streams itself over wss through
 * Caddy; Chromium's fake microphone plays a flite WAV (silence, then the caller's sentence, then silence).
 */
const SENTENCE = "what are your opening hours";
// The greeting (about 5 s with the first audio) plays before the caller speaks, even when slow.
const PRE_SILENCE_S = 12;
const POST_SILENCE_S = 60;

/** About 25 s of agent speech, so the caller's sentence lands in it. */
const LONG_SAY =
  "While you wait, here is a little about our practice. We have been caring for smiles in this town for over twenty years. " +
  "Our team includes three dentists, two hygienists and a friendly front desk. We offer check ups, cleanings, fillings, crowns and whitening. " +
  "We accept most insurance plans, and we are happy to set up a payment plan for larger treatments.";

let v: VoiceStack;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  requireBinary("chromium");
  requireBinary("flite");
  dir = mkdtempSync(join(tmpdir(), "vc-phone-"));
  const wav = join(dir, "caller.wav");
  callerScript(dir, wav, [[PRE_SILENCE_S, SENTENCE]], POST_SILENCE_S);
  // No "are you still there?" reprompt while the fake microphone is still silent.
  v = await startVoiceStack({ mediaReplicas: 1, serviceEnv: { agent: { SILENCE_REPROMPT_MS: "60000" } } });
  browser = await phoneBrowser(wav, v.stack.origin, v.stack.ca);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await v?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const lines = (page: Page, role: string) => page.locator(`#transcript li.${role}`).allTextContents();

describe("browser phone", () => {
  it("calls the agent from the page: greeting, caller sentence, reply, keypad, hang-up", async () => {
    const page = await browser.newPage();
    const logs: string[] = [];
    const subs: { unsubscribe(): void }[] = [];
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    page.on("response", (r) => void (r.status() >= 400 && logs.push(`http ${r.status()} ${r.url()}`)));
    // Everything from the start of the call: the greeting is said as soon as the stream starts.
    const allEvents: CallEvent[] = [];
    const allSaid: SayMessage[] = [];
    try {
      subs.push(v.bus.subscribe(subjects.allEvt, CallEvent, (e) => void allEvents.push(e)));
      subs.push(v.bus.subscribe(subjects.allSay, SayMessage, (m) => void allSaid.push(m)));
      await v.bus.nc.flush();
      await page.goto(`${v.stack.origin}/phone#token=${v.stack.secrets.API_TOKEN}`);
      await page.click("#call");
      await waitFor(
        async () => (await page.locator("body").getAttribute("data-call-id")) ?? undefined,
        "call id on the page",
        30_000,
        100,
      );
      const callId = (await page.locator("body").getAttribute("data-call-id"))!;
      const events = () => allEvents.filter((e) => e.callId === callId);
      const said = () => allSaid.filter((m) => m.callId === callId);

      // The greeting plays: the page echoes its marks after playout, so the agent records it as played.
      await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 60_000, 200);
      await waitFor(
        async () => (await lines(page, "agent")).some((l) => /automated assistant/.test(l)),
        "greeting in the page transcript",
        30_000,
        200,
      );

      // The fake microphone's sentence, recognised and shown; the agent's reply plays.
      await waitFor(
        async () => (await lines(page, "caller")).some((l) => l.includes(SENTENCE)),
        "caller line",
        60_000,
        200,
      );
      await waitFor(
        async () => (await lines(page, "agent")).some((l) => /open Monday to Friday/.test(l)),
        "reply line",
        30_000,
        200,
      );
      const reply = said().find((m) => m.type === "say" && /open Monday to Friday/.test(m.text));
      expect(reply?.type).toBe("say");
      const replyId = reply?.type === "say" ? reply.utteranceId : "";
      // Played to the end: media saw the page echo the reply's last mark.
      await waitFor(
        () => events().some((e) => e.type === "playback.mark" && e.utteranceId === replyId && e.done),
        "reply played",
        60_000,
        200,
      );
      await waitFor(
        async () =>
          (await v.store.transcript(callId)).some((t) => t.role === "agent" && /open Monday to Friday/.test(t.text)),
        "reply in the call transcript",
        30_000,
        200,
      );

      // Keypad: a press is a dtmf event on the bus.
      await page.click("#keypad button:text-is('5')");
      await waitFor(() => events().some((e) => e.type === "dtmf" && e.digit === "5"), "dtmf 5 on the bus", 20_000, 100);

      // Each line once: the live transcript neither drops nor repeats what was said.
      expect((await lines(page, "agent")).filter((l) => /automated assistant/.test(l))).toHaveLength(1);
      expect(await lines(page, "caller")).toEqual([`You: ${SENTENCE}`]);

      mkdirSync("artifacts", { recursive: true });
      await page.screenshot({ path: "artifacts/browser-phone.png", fullPage: true });

      // Hang up: the call completes and the stream closes.
      await page.click("#hangup");
      await waitFor(async () => (await v.store.getCall(callId))?.state === "completed", "state completed", 30_000, 100);
      await waitFor(() => events().some((e) => e.type === "stream.stopped"), "stream stopped", 30_000, 100);
      await waitFor(
        async () => !(await v.store.activeCallIds()).includes(callId),
        "call no longer active",
        30_000,
        100,
      );
      // The page hears of the end on its own channel, a moment after the store: wait for it there too.
      await waitFor(
        async () => (await page.locator("#state").textContent()) === "completed",
        "page shows completed",
        10_000,
        100,
      );
      expect(await page.locator("#hangup").isDisabled()).toBe(true);
      expect(await page.locator("#call").isEnabled()).toBe(true);
      const stats = await page.evaluate(() => (window as unknown as { phoneStats?: unknown }).phoneStats);
      console.log("browser phone stats (ms since the Call click)", JSON.stringify(stats));

      // The same page calls again: a new call, greeted again; this time the far end hangs up (as the
      // agent's end_call does), and the page follows.
      await page.click("#call");
      await waitFor(
        async () => {
          const id = await page.locator("body").getAttribute("data-call-id");
          return id && id !== callId ? id : undefined;
        },
        "second call id",
        30_000,
        100,
      );
      const second = (await page.locator("body").getAttribute("data-call-id"))!;
      await waitFor(async () => (await v.store.getCall(second))?.greetingPlayed, "second greeting played", 60_000, 200);
      expect((await v.api("POST", `/phone/calls/${second}/hangup`)).status).toBe(200);
      await waitFor(
        async () => (await page.locator("#hangup").isDisabled()) || undefined,
        "page saw the call end",
        30_000,
        100,
      );
      await waitFor(
        async () => (await page.locator("#state").textContent()) === "completed",
        "page state completed",
        30_000,
        100,
      );
      expect(await page.locator("#transcript").innerText()).toContain("stream closed");
      expect(await page.locator("#call").isEnabled()).toBe(true);
    } catch (err) {
      console.log(logs.join("\n"));
      console.log(
        await page
          .locator("#transcript")
          .innerText()
          .catch(() => ""),
      );
      console.log(
        "said",
        JSON.stringify(
          allSaid.map((m) =>
            m.type === "say"
              ? [m.callId.slice(0, 8), m.utteranceId, m.generation, m.text.slice(0, 24), m.ts]
              : [m.type, m.ts],
          ),
        ),
      );
      console.log(
        "events",
        JSON.stringify(
          allEvents
            .filter((e) => e.type !== "playback.mark" && e.type !== "transcript.partial")
            .map((e) => [e.callId.slice(0, 8), e.type, e.ts]),
        ),
      );
      throw err;
    } finally {
      for (const sub of subs) sub.unsubscribe();
      await page.close();
    }
  }, 240_000);

  it("barge-in: the caller talks over the agent and the page honours clear", async () => {
    const page = await browser.newPage();
    const allEvents: CallEvent[] = [];
    const sub = v.bus.subscribe(subjects.allEvt, CallEvent, (e) => void allEvents.push(e));
    try {
      await v.bus.nc.flush();
      await page.goto(`${v.stack.origin}/phone#token=${v.stack.secrets.API_TOKEN}`);
      await page.click("#call");
      await waitFor(
        async () => (await page.locator("body").getAttribute("data-call-id")) ?? undefined,
        "call id on the page",
        30_000,
        100,
      );
      const callId = (await page.locator("body").getAttribute("data-call-id"))!;
      const events = () => allEvents.filter((e) => e.callId === callId);
      await waitFor(() => events().some((e) => e.type === "stream.started"), "stream started", 30_000, 100);
      // Agent audio from the greeting until well past the moment the fake microphone speaks.
      expect((await v.api("POST", `/api/calls/${callId}/say`, { text: LONG_SAY })).status).toBe(202);

      await waitFor(() => events().find((e) => e.type === "interrupted"), "interrupted", 60_000, 200);
      await waitFor(
        async () =>
          (await page.evaluate(() => (window as unknown as { phoneStats: { clears: number } }).phoneStats.clears)) >
            0 || undefined,
        "clear honoured by the page",
        30_000,
        100,
      );
      // The page buffered media's lead (wall-clock pacing sends 400 ms ahead, not a self-clocked 160) and
      // the clear emptied its buffer at once.
      const buf = await page.evaluate(
        () => (window as unknown as { phoneStats: { maxBufferedMs: number; bufferedAfterClearMs: number } }).phoneStats,
      );
      expect(buf.maxBufferedMs).toBeGreaterThanOrEqual(250);
      expect(buf.bufferedAfterClearMs).toBe(0);
      await waitFor(
        async () => (await lines(page, "caller")).some((l) => l.includes(SENTENCE)),
        "caller line",
        60_000,
        200,
      );
      await waitFor(
        async () => (await lines(page, "agent")).some((l) => /open Monday to Friday/.test(l)),
        "reply line",
        30_000,
        200,
      );
      const cut = events().find((e) => e.type === "interrupted");
      // What the page played before the clear, from its echoed marks: some, not all.
      expect(cut?.type === "interrupted" && cut.playedMs < cut.totalMs).toBe(true);
      expect(await page.locator("#transcript li.system").allTextContents()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^· interrupted after/)]),
      );
      await page.click("#hangup");
      await waitFor(async () => (await v.store.getCall(callId))?.state === "completed", "state completed", 30_000, 100);
    } finally {
      sub.unsubscribe();
      await page.close();
    }
  }, 180_000);

  it("refuses a wrong token and says so", async () => {
    const page = await browser.newPage();
    try {
      const before = (await v.store.activeCallIds()).length;
      await page.goto(`${v.stack.origin}/phone#token=wrong`);
      await page.click("#call");
      await waitFor(
        async () => (await page.locator("#state").textContent()) === "error 401",
        "error 401 shown",
        30_000,
        100,
      );
      expect(await page.locator("#transcript").innerText()).toContain("The API token was not accepted");
      expect(await page.locator("#call").isEnabled()).toBe(true);
      expect((await v.store.activeCallIds()).length).toBe(before);
    } finally {
      await page.close();
    }
  }, 60_000);

  it("plays agent audio like Twilio: marks echoed after their audio, clear echoes the pending ones at once", async () => {
    // The page's Playback class itself, bundled for the test, in a real AudioContext.
    const bundle = await build({
      entryPoints: [new URL("../../services/gateway/src/phone/page/playback.ts", import.meta.url).pathname],
      bundle: true,
      write: false,
      format: "iife",
      globalName: "VcPlayback",
      target: "es2020",
      logLevel: "silent",
    });
    const page = await browser.newPage();
    try {
      await page.goto(`${v.stack.origin}/phone`);
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      // An AudioContext made in a click may run (autoplay policy).
      await page.evaluate(() =>
        document
          .querySelector("h1")!
          .addEventListener("click", () => ((window as unknown as { ac: AudioContext }).ac = new AudioContext())),
      );
      await page.click("h1");
      const r = await page.evaluate(async () => {
        type Pb = {
          enqueue(mu: Uint8Array): number;
          mark(name: string): void;
          clear(): void;
          close(): void;
          readonly playing: boolean;
        };
        const g = window as unknown as {
          ac: AudioContext;
          VcPlayback: { Playback: new (ctx: AudioContext, onMark: (n: string) => void) => Pb };
        };
        const ctx = g.ac;
        await ctx.resume();
        const echoed: { name: string; at: number }[] = [];
        const p = new g.VcPlayback.Playback(ctx, (name) => echoed.push({ name, at: ctx.currentTime }));
        const silence = (s: number) => new Uint8Array(8000 * s).fill(0xff);
        const aEnds = ctx.currentTime + p.enqueue(silence(1)) + 1;
        p.mark("a");
        const bEnds = ctx.currentTime + p.enqueue(silence(20)) + 20;
        p.mark("b");
        p.enqueue(silence(5));
        p.mark("c");
        const echoedAtOnce = echoed.length;
        while (!echoed.length) await new Promise((res) => setTimeout(res, 20));
        const playingBeforeClear = p.playing;
        p.clear();
        const out = {
          echoed: [...echoed],
          aEnds,
          bEnds,
          echoedAtOnce,
          playingBeforeClear,
          playingAfterClear: p.playing,
        };
        p.close();
        await ctx.close();
        return out;
      });
      expect(r.echoedAtOnce).toBe(0);
      expect(r.echoed.map((e) => e.name)).toEqual(["a", "b", "c"]);
      // "a" came back once its second of audio had played (audio clock), "b" and "c" at the clear, long before theirs.
      expect(r.echoed[0]!.at).toBeGreaterThanOrEqual(r.aEnds - 0.01);
      expect(r.echoed[1]!.at).toBeLessThan(r.bEnds);
      expect(r.playingBeforeClear).toBe(true);
      expect(r.playingAfterClear).toBe(false);
    } finally {
      await page.close();
    }
  }, 60_000);
});
