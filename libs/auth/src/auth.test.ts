import { describe, expect, it } from "vitest";
import twilio from "twilio";
import { twilioSignature, validTwilioSignature } from "./twilio-signature";
import { mintStreamToken, verifyStreamToken } from "./stream-token";

const docParams = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+14158675309",
  Digits: "1234",
  From: "+14158675309",
  To: "+18005551212",
};

describe("twilioSignature", () => {
  it("matches Twilio's documented vectors", () => {
    expect(twilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", docParams)).toBe(
      "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    );
    expect(twilioSignature("12345", "wss://voice.example.com/voice/stream")).toBe("GltXC87w7mgVspm5zSYBBpMsuCo=");
  });

  it("agrees with the twilio library's validateRequest, including repeated keys", () => {
    const url = "https://voice.example.com/voice/status?callId=abc";
    const params = { CallStatus: "ringing", StatusCallbackEvent: ["ringing", "initiated"], AccountSid: "AC1" };
    const sig = twilioSignature("secret-token", url, params);
    expect(twilio.validateRequest("secret-token", sig, url, params)).toBe(true);
    expect(twilio.validateRequest("secret-token", sig, url, { ...params, CallStatus: "completed" })).toBe(false);
  });

  it("validates with or without an explicit port and a trailing slash on wss, rejects a forgery", () => {
    const sig = twilioSignature("tok", "https://h.example/voice/webhook", { A: "1" });
    expect(validTwilioSignature("tok", sig, "https://h.example:443/voice/webhook", { A: "1" })).toBe(true);
    expect(validTwilioSignature("tok", sig, "https://h.example/voice/webhook", { A: "2" })).toBe(false);
    expect(validTwilioSignature("tok", undefined, "https://h.example/voice/webhook")).toBe(false);
    const wsSig = twilioSignature("tok", "wss://h.example/voice/stream/");
    expect(validTwilioSignature("tok", wsSig, "wss://h.example/voice/stream")).toBe(true);
  });
});

describe("stream token", () => {
  const secret = "0123456789abcdef0123";
  it("verifies for its own call only, and expires", () => {
    const t = mintStreamToken(secret, "call1", "CA1", 60_000, 1_000);
    expect(verifyStreamToken(secret, t, "call1", "CA1", 2_000)).toMatchObject({ ok: true });
    expect(verifyStreamToken(secret, t, "call2", "CA1", 2_000)).toEqual({ ok: false, reason: "mismatch" });
    expect(verifyStreamToken(secret, t, "call1", "CA2", 2_000)).toEqual({ ok: false, reason: "mismatch" });
    expect(verifyStreamToken(secret, t, "call1", "CA1", 100_000)).toEqual({ ok: false, reason: "expired" });
    expect(verifyStreamToken("another-secret-xxxxx", t, "call1", "CA1", 2_000)).toEqual({
      ok: false,
      reason: "mismatch",
    });
    expect(verifyStreamToken(secret, "garbage", "call1", "CA1")).toEqual({ ok: false, reason: "malformed" });
  });
  it("tampering with the expiry breaks the MAC", () => {
    const t = mintStreamToken(secret, "c", "CA", 1000, 0);
    const forged = t.replace(/^\d+/, "99999999999");
    expect(verifyStreamToken(secret, forged, "c", "CA", 500)).toEqual({ ok: false, reason: "mismatch" });
  });
  it("two tokens for the same call are distinct", () => {
    expect(mintStreamToken(secret, "c", "CA", 1000)).not.toBe(mintStreamToken(secret, "c", "CA", 1000));
  });
});
