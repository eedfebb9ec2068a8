import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallEvent, SayMessage, subjects } from "@voicecall/contracts";
import { requireBinary, startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import { FakeRealtimeServer } from "../realtime/fake-realtime-server";
import { callerScript, phoneBrowser } from "./chromium";

/**
 * The browser phone in realtime mode, in real headless Chromium: the gateway's `VOICE_ENGINE=realtime`
 * makes the page's call a realtime one, media bridges the page's Media Streams socket to a local server
 * speaking the OpenAI Realtime protocol (its energy VAD hears the fake microphone's flite sentences),
 * and the page plays the model's audio and echoes its marks. Greeting heard, a turn answered, and
 * the caller's third sentence cuts a long answer: `clear` honoured by the page, the model's item
 * truncated to what the page played.
 */
const GREETING = "Hello, you are speaking with an automated assistant. How can I help?";
const A = "what are your opening hours";
const B = "tell me about the practice";
const C = "sorry one more thing";
const LONG =
  "We have been caring for smiles in this town for over twenty years and our team includes three dentists two hygienists and a friendly front desk";
// The greeting is about 4 s of model audio; the first sentence comes well after it, the third lands in the long answer.
const SCRIPT: [number, string][] = [
  [9, A],
  [4, B],
  [5, C],
];

let v: VoiceStack;
let fake: FakeRealtimeServer;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  requireBinary("chromium");
  requireBinary("flite");
  dir = mkdtempSync(join(tmpdir(), "vc-phone-rt-"));
  const wav = join(dir, "caller.wav");
  callerScript(dir, wav, SCRIPT, 40);
  fake = await FakeRealtimeServer.start();
  fake.onUserTurn = (text) =>
    text === A ? { say: "We open at nine." } : text === B ? { say: LONG, ms: 20_000 } : { say: "Yes, go ahead." };
  v = await startVoiceStack({
    services: ["gateway", "media", "agent"],
    mediaReplicas: 1,
    serviceEnv: {
      gateway: { VOICE_ENGINE: "realtime", INBOUND_GREETING: GREETING },
      // A longer end-of-turn wait than the default, so a pause inside a flite sentence does not split it.
      media: { REALTIME_URL: fake.url, REALTIME_SILENCE_REPROMPT_MS: "0", REALTIME_VAD_SILENCE_MS: "800" },
    },
  });
  browser = await phoneBrowser(wav, v.stack.origin, v.stack.ca);
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await v?.stop();
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const lines = (page: Page, role: string) => page.locator(`#transcript li.${role}`).allTextContents();
type Stats = { clears: number; maxBufferedMs?: number; bufferedAfterClearMs?: number; marksEchoed: number };
const stats = (page: Page) => page.evaluate(() => (window as unknown as { phoneStats: Stats }).phoneStats);

describe("browser phone, realtime engine", () => {
  it("greeting heard, a turn answered, and the caller's barge-in cuts the model: clear at the page, truncate at the model", async () => {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
    fake.callerLines.push(A, B, C);
    const allEvents: CallEvent[] = [];
    const said: SayMessage[] = [];
    const subs = [
      v.bus.subscribe(subjects.allEvt, CallEvent, (e) => void allEvents.push(e)),
      v.bus.subscribe(subjects.allSay, SayMessage, (m) => void said.push(m)),
    ];
    try {
      await v.bus.nc.flush();
      await page.goto(`${v.stack.origin}/phone#token=${v.stack.secrets.API_TOKEN}`);
      await page.click("#call");
      const callId = await waitFor(
        async () => (await page.locator("body").getAttribute("data-call-id")) ?? undefined,
        "call id on the page",
        30_000,
        100,
      );
      const events = () => allEvents.filter((e) => e.callId === callId);
      expect((await v.store.getCall(callId))?.engine).toBe("realtime");

      // Greeting: the model says it word for word; played when the page echoed its last mark.
      await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 60_000, 200);
      const s = fake.last!;
      expect(s.responses[0]!.metadata).toEqual({ vc: "greeting" });
      await waitFor(
        async () => (await lines(page, "agent")).includes(`Agent: ${GREETING}`) || undefined,
        "greeting in the page transcript",
        30_000,
        200,
      );

      // A turn: the caller's sentence reaches the model (its VAD), the answer is played to the end.
      await waitFor(
        async () => (await lines(page, "caller")).includes(`You: ${A}`) || undefined,
        "caller line A",
        60_000,
        200,
      );
      await waitFor(
        async () => (await lines(page, "agent")).includes("Agent: We open at nine.") || undefined,
        "answer heard",
        30_000,
        200,
      );
      const answer = events().find((e) => e.type === "transcript.agent" && e.text === "We open at nine.");
      expect(answer?.type === "transcript.agent" && answer.interrupted).toBeFalsy();

      // Barge-in: the third sentence lands in the 20 s answer to the second.
      const cut = await waitFor(
        () => events().find((e): e is Extract<CallEvent, { type: "interrupted" }> => e.type === "interrupted"),
        "interrupted",
        60_000,
        100,
      );
      expect(cut.playedMs).toBeGreaterThan(1000);
      expect(cut.playedMs).toBeLessThan(cut.totalMs);
      await waitFor(() => s.truncates.length > 0 || undefined, "truncate at the model", 10_000, 50);
      expect(s.truncates).toEqual([{ item_id: cut.utteranceId, audio_end_ms: Math.floor(cut.playedMs) }]);
      await waitFor(async () => (await stats(page)).clears > 0 || undefined, "clear honoured by the page", 10_000, 50);
      const st = await stats(page);
      expect(st.bufferedAfterClearMs).toBe(0);
      expect(await page.locator("#transcript li.system").allTextContents()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^· interrupted after/)]),
      );

      // The caller is answered after cutting in; the cut answer is in the transcript as far as it was heard.
      await waitFor(
        async () => (await lines(page, "agent")).includes("Agent: Yes, go ahead.") || undefined,
        "answer after the barge-in",
        60_000,
        200,
      );
      const t = await v.store.transcript(callId);
      const long = t.find((l) => l.role === "agent" && l.interrupted);
      expect(long && LONG.startsWith(long.text) && long.text.length < LONG.length).toBe(true);
      expect(t.filter((l) => l.role === "caller").map((l) => l.text)).toEqual([A, B, C]);
      expect(await lines(page, "caller")).toEqual([`You: ${A}`, `You: ${B}`, `You: ${C}`]);
      // One stream, one model session, and the agent service said nothing of its own.
      expect(fake.sessions).toHaveLength(1);
      expect(events().filter((e) => e.type === "realtime.error")).toEqual([]);
      expect(said.filter((m) => m.callId === callId)).toEqual([]);

      mkdirSync("artifacts", { recursive: true });
      await page.screenshot({ path: "artifacts/browser-phone-realtime.png", fullPage: true });
      await page.click("#hangup");
      await waitFor(async () => (await v.store.getCall(callId))?.state === "completed", "state completed", 30_000, 100);
      await waitFor(() => s.ws.readyState === s.ws.CLOSED || undefined, "model session closed", 10_000, 50);
    } catch (err) {
      console.log(logs.join("\n"));
      console.log(
        await page
          .locator("#transcript")
          .innerText()
          .catch(() => ""),
      );
      console.log(
        "events",
        JSON.stringify(
          allEvents.filter((e) => e.type !== "playback.mark").map((e) => [e.type, e.ts, "text" in e ? e.text : ""]),
        ),
      );
      throw err;
    } finally {
      for (const x of subs) x.unsubscribe();
      await page.close();
    }
  }, 240_000);
});
