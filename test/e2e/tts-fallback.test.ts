import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulawDecode, voicedMs } from "@voicecall/audio";
import { CallEvent, subjects } from "@voicecall/contracts";
import { startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import { startFakeVendors, type FakeVendors } from "@voicecall/tts/testing";

/**
 * The TTS vendor fails (HTTP 500 from a local server speaking ElevenLabs' protocol): the tts service
 * reports `tts.error`, the local voice speaks instead, and the caller still hears the greeting.
 */
let vendor: FakeVendors;
let v: VoiceStack;

beforeAll(async () => {
  vendor = await startFakeVendors();
  vendor.fallbackMode = { kind: "status", status: 500 };
  v = await startVoiceStack({
    serviceEnv: {
      tts: {
        TTS_PROVIDER: "elevenlabs",
        ELEVENLABS_URL: vendor.url,
        ELEVENLABS_API_KEY: vendor.apiKey,
        TTS_FALLBACK_PROVIDER: "local",
        TTS_RETRIES: "0",
      },
    },
  });
}, 120_000);
afterAll(async () => {
  await v?.stop();
  await vendor?.close();
});

describe("tts vendor failure", () => {
  it("falls back to the local voice and the caller hears the greeting", async () => {
    const events: CallEvent[] = [];
    v.bus.subscribe(subjects.allEvt, CallEvent, (e) => void events.push(e));
    await v.bus.flush();
    const created = await v.api<{ callId: string }>("POST", "/api/calls", {
      to: "+14155550188",
      mode: "conversation",
      greeting: "Hello, this greeting survives a vendor outage.",
    });
    expect(created.status).toBe(202);
    const { callId } = created.json;
    const phone = await v.sim.nextCall(20_000);
    await waitFor(async () => (await v.store.getCall(callId))?.greetingPlayed, "greeting played", 40_000, 100);
    expect(voicedMs(mulawDecode(phone.heard().audio), 8000)).toBeGreaterThan(1000);
    const errors = events.filter(
      (e): e is Extract<CallEvent, { type: "tts.error" }> => e.type === "tts.error" && e.callId === callId,
    );
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.fallback).toMatch(/^local/);
    expect(vendor.requests.some((r) => r.path.includes("/v1/text-to-speech/"))).toBe(true);
    await phone.hangup();
    await phone.waitForEnd(20_000);
  }, 120_000);
});
