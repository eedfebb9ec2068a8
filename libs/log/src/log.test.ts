import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { callLogger, createLogger, errorReason, safeError, safeUrl, vendorMessage, type LogOptions } from "./index";

function capture(o: Partial<LogOptions> = {}) {
  const out: string[] = [];
  const destination = new Writable({ write: (c, _e, cb) => (out.push(c.toString()), cb()) });
  return { log: createLogger({ service: "gateway", destination, ...o }), out, text: () => out.join("") };
}

const sid = "AC" + "1f".repeat(16);
const authToken = "9c2e4b7d1a3f5e6c8b0d2f4a6c8e0b1d";
const basic = Buffer.from(`${sid}:${authToken}`).toString("base64");

/** What axios (inside twilio-node) rejects with when Twilio is unreachable: the whole request. */
function axiosLikeError(): Error {
  const e = new Error("connect ECONNREFUSED 127.0.0.1:9");
  Object.assign(e, {
    name: "AxiosError",
    code: "ECONNREFUSED",
    config: {
      url: `https://${sid}:${authToken}@api.twilio.com/2010-04-01/Accounts/${sid}/Calls.json`,
      headers: { Accept: "application/json", Authorization: `Basic ${basic}` },
      auth: { username: sid, password: authToken },
    },
    request: { _header: `POST /2010-04-01/Accounts/${sid}/Calls.json HTTP/1.1\r\nAuthorization: Basic ${basic}\r\n` },
  });
  return e;
}

describe("logger", () => {
  it("writes JSON with service, callId and callSid, and redacts secrets and pii", () => {
    const { log, out, text } = capture();
    callLogger(log, "call-1", "CA1").info(
      {
        authToken: "s3cr3t",
        headers: { authorization: "Bearer abc" },
        pii: { from: "+15551234567" },
        customParameters: { token: "tok-123" },
      },
      "webhook",
    );
    const line = JSON.parse(out[0]!);
    expect(line).toMatchObject({ service: "gateway", callId: "call-1", callSid: "CA1", msg: "webhook" });
    for (const secret of ["s3cr3t", "Bearer abc", "+15551234567", "tok-123"]) expect(text()).not.toContain(secret);
  });

  it("censors secret keys at any depth and in any case or spelling", () => {
    const { log, text } = capture();
    log.warn(
      {
        a: {
          b: {
            c: {
              Authorization: "Basic Zm9vOmJhcg==",
              "xi-api-key": "xi-key-1234",
              "Api-Key": "apikey-5678",
              TOKEN: "tok-9012",
              X_Twilio_Signature: "sig-3456",
            },
          },
        },
        list: [{ headers: { "Proxy-Authorization": "Bearer pppppppp" } }],
        nested: { pii: { to: "+15557654321" } },
      },
      "deep",
    );
    for (const s of ["Zm9vOmJhcg==", "xi-key-1234", "apikey-5678", "tok-9012", "sig-3456", "pppppppp", "+15557654321"])
      expect(text()).not.toContain(s);
    expect(JSON.parse(text()).a.b.c.Authorization).toBe("[redacted]");
  });

  it("logs an HTTP client's raw error as status, code, message and a credential-free URL", () => {
    const { log, text } = capture();
    log.error({ err: axiosLikeError(), path: "/api/calls/x/hangup" }, "request failed");
    log.error(axiosLikeError(), "bare error");
    const lines = text();
    for (const s of [authToken, basic, `${sid}:${authToken}`]) expect(lines).not.toContain(s);
    const first = JSON.parse(lines.split("\n")[0]!);
    expect(first.err).toMatchObject({
      type: "AxiosError",
      code: "ECONNREFUSED",
      message: "connect ECONNREFUSED 127.0.0.1:9",
    });
    expect(first.err.url).toBe(`https://api.twilio.com/2010-04-01/Accounts/${sid}/Calls.json`);
    expect(first.err.config).toBeUndefined();
  });

  it("censors the process's known secrets in every spelling wherever they appear, messages included", () => {
    const apiKey = "sk-proj-" + "Ab3".repeat(12);
    const { log, text } = capture({ secrets: [authToken, `${sid}:${authToken}`, apiKey] });
    log.warn({ note: `vendor said: Incorrect API key provided: ${apiKey}` }, `header was ${basic}`);
    log.warn({ encoded: encodeURIComponent(apiKey), b64: Buffer.from(apiKey).toString("base64") }, authToken);
    for (const s of [authToken, basic, apiKey, Buffer.from(apiKey).toString("base64")]) expect(text()).not.toContain(s);
    for (const l of text().trim().split("\n")) expect(() => JSON.parse(l)).not.toThrow();
  });
});

describe("safeError and friends", () => {
  it("keeps the cause chain's codes (fetch failed → ECONNREFUSED)", () => {
    const inner = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const outer = new TypeError("fetch failed", { cause: inner });
    expect(safeError(outer)).toMatchObject({
      type: "TypeError",
      message: "fetch failed",
      cause: { code: "ECONNREFUSED" },
    });
    expect(errorReason(outer)).toBe("fetch failed (ECONNREFUSED)");
  });

  it("strips user:password and credential query values from URLs", () => {
    expect(safeUrl("wss://user:pw@api.deepgram.com/v1/listen?token=abc&model=nova")).toBe(
      "wss://api.deepgram.com/v1/listen?token=redacted&model=nova",
    );
  });

  it("reads a vendor's message from its error body and drops an echoed key", () => {
    expect(
      vendorMessage(
        JSON.stringify({
          error: { message: "Incorrect API key provided: sk-123456789", type: "invalid_request_error" },
        }),
        ["sk-123456789"],
      ),
    ).toBe("Incorrect API key provided: [redacted]");
    expect(vendorMessage(JSON.stringify({ detail: { status: "invalid_api_key", message: "Invalid API key" } }))).toBe(
      "Invalid API key",
    );
    expect(vendorMessage(JSON.stringify({ err_code: "INVALID_AUTH", err_msg: "Invalid credentials." }))).toBe(
      "Invalid credentials.",
    );
    expect(vendorMessage("upstream connect error")).toBe("upstream connect error");
  });
});
