import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { callLogger, createLogger } from "./index";

describe("logger", () => {
  it("writes JSON with service, callId and callSid, and redacts secrets and pii", () => {
    const out: string[] = [];
    const destination = new Writable({ write: (c, _e, cb) => (out.push(c.toString()), cb()) });
    const log = createLogger({ service: "gateway", destination });
    callLogger(log, "call-1", "CA1").info({ authToken: "s3cr3t", headers: { authorization: "Bearer abc" }, pii: { from: "+15551234567" }, customParameters: { token: "tok-123" } }, "webhook");
    const line = JSON.parse(out[0]!);
    expect(line).toMatchObject({ service: "gateway", callId: "call-1", callSid: "CA1", msg: "webhook" });
    const text = out.join("");
    for (const secret of ["s3cr3t", "Bearer abc", "+15551234567", "tok-123"]) expect(text).not.toContain(secret);
  });
});
