import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ACCOUNT_SID, api, startGateway, startHarness, twilioPost, type Harness } from "../test/harness";
import { proxyMatcher, normalizeIp } from "./client-ip";
import { parseForm } from "./twilio-request";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.reset());

const forged = { signature: "Zm9yZ2VkLXNpZ25hdHVyZS0wMDAwMDA=" };

describe("failed-signature rate limit and trusted proxies", () => {
  it("after N failed checks a client gets 429 (unsigned at once), but a valid signed request still passes; X-Forwarded-For is ignored from untrusted peers", async () => {
    const g = await startGateway(h, {}, { failedSignaturesPerMinute: 3 });
    try {
      const { callId, callSid } = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      const p = { CallSid: callSid, AccountSid: ACCOUNT_SID, CallStatus: "ringing" };
      const path = `/voice/status?callId=${callId}`;
      const codes = [];
      for (let i = 0; i < 4; i++)
        codes.push(
          (await twilioPost(g.url, path, p, { ...forged, headers: { "x-forwarded-for": `10.0.0.${i}` } })).status,
        );
      expect(codes).toEqual([403, 403, 403, 429]);
      expect((await twilioPost(g.url, path, p, { signature: null })).status).toBe(429);
      expect((await h.store.getCall(callId))!.state).toBe("queued");
      // Behind an untrusted proxy Twilio shares the attacker's address: its signed requests are not locked out.
      expect((await twilioPost(g.url, path, p)).status).toBe(200);
      expect((await h.store.getCall(callId))!.state).toBe("ringing");
      expect((await twilioPost(g.url, path, { ...p, CallStatus: "in-progress" }, forged)).status).toBe(429);
    } finally {
      await g.close();
    }
  });

  it("from a TRUSTED_PROXIES peer (::ffff: form normalised), the forwarded client is limited, not the proxy", async () => {
    const g = await startGateway(h, { TRUSTED_PROXIES: "::ffff:127.0.0.1" }, { failedSignaturesPerMinute: 2 });
    try {
      const { callId, callSid } = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      const p = { CallSid: callSid, AccountSid: ACCOUNT_SID, CallStatus: "ringing" };
      const path = `/voice/status?callId=${callId}`;
      const attacker = { headers: { "x-forwarded-for": "203.0.113.9" } };
      for (let i = 0; i < 2; i++)
        expect((await twilioPost(g.url, path, p, { ...forged, ...attacker })).status).toBe(403);
      expect((await twilioPost(g.url, path, p, { ...forged, ...attacker })).status).toBe(429);
      const twilio = await twilioPost(g.url, path, p, { headers: { "x-forwarded-for": "54.172.60.1" } });
      expect(twilio.status).toBe(200);
      expect((await h.store.getCall(callId))!.state).toBe("ringing");
    } finally {
      await g.close();
    }
  });
});

describe("TWILIO_SKIP_SIGNATURE", () => {
  it("accepts unsigned requests only when explicitly set, warning at start and on every request", async () => {
    const g = await startGateway(h, { TWILIO_SKIP_SIGNATURE: "true" });
    try {
      expect(g.logs.lines.some((l) => l.level === 40 && String(l.msg).includes("NOT checked"))).toBe(true);
      const { callId, callSid } = (await api(g.url, "POST", "/api/calls", { to: "+14155550123" })).json;
      const r = await twilioPost(
        g.url,
        `/voice/status?callId=${callId}`,
        { CallSid: callSid, CallStatus: "ringing" },
        { signature: null },
      );
      expect(r.status).toBe(200);
      expect(
        g.logs.lines.filter((l) => l.level === 40 && String(l.msg).startsWith("TWILIO_SKIP_SIGNATURE=true: request")),
      ).toHaveLength(1);
    } finally {
      await g.close();
    }
    const strict = await startGateway(h);
    try {
      expect(
        (
          await twilioPost(
            strict.url,
            "/voice/status",
            { CallSid: "CA" + "0".repeat(32), CallStatus: "ringing" },
            { signature: null },
          )
        ).status,
      ).toBe(403);
    } finally {
      await strict.close();
    }
  });
});

describe("helpers", () => {
  it("normalises ::ffff: addresses and matches IPs and IPv4 CIDRs", () => {
    expect(normalizeIp("::ffff:10.1.2.3")).toBe("10.1.2.3");
    const m = proxyMatcher(["172.18.0.0/16", "::ffff:127.0.0.1", "::1"]);
    expect(m("::ffff:172.18.5.4")).toBe(true);
    expect(m("172.19.0.1")).toBe(false);
    expect(m("127.0.0.1")).toBe(true);
    expect(m("::1")).toBe(true);
    expect(() => proxyMatcher(["nonsense"])).toThrow(/TRUSTED_PROXIES/);
  });

  it("decodes forms strictly, keeping repeated keys", () => {
    expect(parseForm("a=1&b=x+y%21&a=2")).toEqual({ a: ["1", "2"], b: "x y!" });
    expect(() => parseForm("a=%E0%A4%A")).toThrow(/percent/);
  });
});
