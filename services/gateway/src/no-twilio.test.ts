import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "@voicecall/config";
import { parseGatewayConfig } from "./config";
import {
  api,
  newCallSid,
  startGateway,
  startHarness,
  twilioPost,
  type Harness,
  type RunningGateway,
} from "../test/harness";

/** No Twilio account (the "try it with no accounts" path): the gateway runs, phone calls are refused clearly. */
let h: Harness;
let g: RunningGateway;

beforeAll(async () => {
  h = await startHarness();
  g = await startGateway(h, { TWILIO_ACCOUNT_SID: "", TWILIO_AUTH_TOKEN: "", TWILIO_FROM_NUMBER: "" });
});
afterAll(async () => {
  await g?.close();
  await h?.stop();
});

describe("gateway without a Twilio account", () => {
  it("a partial Twilio setting names the missing variable", () => {
    const base = { PUBLIC_URL: "https://x.example", API_TOKEN: "a".repeat(20), STREAM_TOKEN_SECRET: "b".repeat(20) };
    expect(() => parseGatewayConfig({ ...base, TWILIO_ACCOUNT_SID: "AC" + "0".repeat(32) })).toThrow(ConfigError);
    expect(() =>
      parseGatewayConfig({ ...base, TWILIO_ACCOUNT_SID: "AC" + "0".repeat(32), TWILIO_AUTH_TOKEN: "t".repeat(16) }),
    ).toThrow(/TWILIO_FROM_NUMBER is unset/);
    expect(parseGatewayConfig(base).TWILIO_ACCOUNT_SID).toBeUndefined();
  });

  it("refuses phone calls with 503 and says how to turn them on", async () => {
    const r = await api(g.url, "POST", "/api/calls", { to: "+14155550123" });
    expect(r.status).toBe(503);
    expect(r.json.error).toMatch(/TWILIO_ACCOUNT_SID/);
    expect(await h.store.activeCallIds()).toEqual([]);
  });

  it("hangup of a phone call answers 503 with the reason, not 500", async () => {
    const rec = await h.store.createCall(
      { callId: "no-twilio-1", direction: "inbound", mode: "conversation", from: "+14155550123", to: "+14155550100" },
      Date.now(),
    );
    await h.store.linkCallSid(rec.callId, newCallSid());
    const r = await api(g.url, "POST", `/api/calls/${rec.callId}/hangup`);
    expect(r.status).toBe(503);
    expect(r.json.error).toMatch(/Twilio is not configured: set TWILIO_ACCOUNT_SID/);
  });

  it("with generated credentials (npm run dev), calls and hangups answer 503 saying so, and no REST request is sent", async () => {
    const dev = await startGateway(h, { TWILIO_ACCOUNT_GENERATED: "true", TWILIO_API_BASE_URL: "http://127.0.0.1:9" });
    try {
      const r = await api(dev.url, "POST", "/api/calls", { to: "+14155550123" });
      expect(r.status).toBe(503);
      expect(r.json.error).toMatch(/credentials are generated, not a real account/);
      const rec = await h.store.createCall(
        { callId: "generated-1", direction: "inbound", mode: "conversation", from: "+14155550123", to: "+14155550100" },
        Date.now(),
      );
      await h.store.linkCallSid(rec.callId, newCallSid());
      const hung = await api(dev.url, "POST", `/api/calls/${rec.callId}/hangup`);
      expect(hung.status).toBe(503);
      expect(hung.json.error).toMatch(/credentials are generated/);
    } finally {
      await dev.close();
    }
  });

  it("answers Twilio webhooks 503, never accepting them unsigned", async () => {
    const r = await twilioPost(
      g.url,
      "/voice/webhook",
      { CallSid: newCallSid(), From: "+14155550123", To: "+14155550100" },
      { signature: "x" },
    );
    expect(r.status).toBe(503);
  });

  it("still serves the browser phone", async () => {
    const r = await api(g.url, "POST", "/phone/calls", {});
    expect(r.status).toBe(201);
    expect(r.json.accountSid).toMatch(/^AC0{32}$/);
    expect((await h.store.getCall(r.json.callId))?.state).toBe("in-progress");
  });
});
