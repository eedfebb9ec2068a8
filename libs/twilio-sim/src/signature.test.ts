import { describe, expect, it } from "vitest";
import twilio from "twilio";
import { twilioSignature, validTwilioSignature } from "@voicecall/auth";
import { signingUrl } from "./webhooks";

// Vectors from Twilio's docs and twilio-node's spec/validation.spec.js (wire reference §1.3, §2.1).
const token = "12345";
const params = {
  CallSid: "CA1234567890ABCDE",
  Caller: "+14158675309",
  Digits: "1234",
  From: "+14158675309",
  To: "+18005551212",
};

describe("X-Twilio-Signature: our signer vs the twilio library", () => {
  it("twilio-node spec vector RSOYDt4T1cUTdK1PDd93/VVr8B8=", () => {
    const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    expect(twilioSignature(token, url, params)).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    expect(twilio.getExpectedTwilioSignature(token, url, params)).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    expect(twilio.validateRequest(token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url, params)).toBe(true);
    expect(twilio.validateRequest(token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", url, { ...params, Digits: "1235" })).toBe(
      false,
    );
  });

  it("security docs vector L/OH5YylLD5NRKLltdqwSvS0BnU=", () => {
    const url = "https://example.com/myapp.php?foo=1&bar=2";
    const p = { ...params, Caller: "+14158675310", From: "+14158675310" };
    expect(twilioSignature(token, url, p)).toBe("L/OH5YylLD5NRKLltdqwSvS0BnU=");
    expect(twilio.validateRequest(token, "L/OH5YylLD5NRKLltdqwSvS0BnU=", url, p)).toBe(true);
  });

  it("wss handshake vector GltXC87w7mgVspm5zSYBBpMsuCo= (URL only, no params)", () => {
    const url = "wss://voice.example.com/voice/stream";
    expect(twilioSignature(token, url, {})).toBe("GltXC87w7mgVspm5zSYBBpMsuCo=");
    expect(twilio.validateRequest(token, "GltXC87w7mgVspm5zSYBBpMsuCo=", url, {})).toBe(true);
    expect(validTwilioSignature(token, "GltXC87w7mgVspm5zSYBBpMsuCo=", url, {})).toBe(true);
  });

  it("bodySHA256 vector a9nBmqA0ju/hNViExpshrM61xv4=", () => {
    const body = '{"property": "value", "boolean": true}';
    const hash = twilio.getExpectedBodyHash(body);
    expect(hash).toBe("0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620");
    const url = `https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=${hash}`;
    expect(twilioSignature(token, url, {})).toBe("a9nBmqA0ju/hNViExpshrM61xv4=");
    expect(twilio.validateRequestWithBody(token, "a9nBmqA0ju/hNViExpshrM61xv4=", url, body)).toBe(true);
  });

  it("repeated keys are deduped and sorted like twilio-node", () => {
    const url = "https://example.com/cb";
    const p = { StatusCallbackEvent: ["ringing", "answered", "initiated", "answered"], To: "+1" };
    expect(twilioSignature(token, url, p)).toBe(twilio.getExpectedTwilioSignature(token, url, p));
  });

  it("https voice URLs are signed without their port, and twilio validates the public URL with it", () => {
    const url = "https://localhost:8443/voice/webhook?x=1";
    expect(signingUrl(url)).toBe("https://localhost/voice/webhook?x=1");
    expect(signingUrl("http://localhost:8080/voice")).toBe("http://localhost:8080/voice");
    const sig = twilioSignature(token, signingUrl(url), params);
    expect(twilio.validateRequest(token, sig, url, params)).toBe(true);
    expect(validTwilioSignature(token, sig, url, params)).toBe(true);
  });
});
