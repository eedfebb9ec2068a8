import { rootCertificates } from "node:tls";
import { describe, expect, it } from "vitest";
import { trustContext } from "./tls-trust";

describe("twilio-sim: one TLS context per trusted CA", () => {
  it("builds a CA's context once and another CA's apart; no CA, no context (Node's roots)", () => {
    const [ca, other] = rootCertificates as [string, string];
    const a = trustContext(ca);
    expect(a).toBeDefined();
    expect(trustContext(Buffer.from(ca, "latin1"))).toBe(a);
    expect(trustContext(other)).not.toBe(a);
    expect(trustContext(undefined)).toBeUndefined();
  });
});
