import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, parseConfig } from "./load";
import { commonFields, publicUrl, port } from "./fields";

const schema = z.object({ ...commonFields, PORT: port(3000), PUBLIC_URL: publicUrl });

describe("parseConfig", () => {
  it("applies defaults and freezes", () => {
    const c = parseConfig(schema, { PUBLIC_URL: "https://voice.example.com/" });
    expect(c.PORT).toBe(3000);
    expect(c.PUBLIC_URL).toBe("https://voice.example.com");
    expect(c.NATS_URL).toBe("nats://127.0.0.1:4222");
    expect(Object.isFrozen(c)).toBe(true);
  });
  it("names the variable, the problem and an example in one line", () => {
    try {
      parseConfig(schema, { PUBLIC_URL: "http://voice.example.com" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain("PUBLIC_URL");
      expect(msg).toContain("https");
      expect(msg).toContain("e.g.");
      expect(msg.split("\n")).toHaveLength(1);
    }
  });
  it("reports every bad variable at once, one line each", () => {
    try {
      parseConfig(schema, { PORT: "70000", NATS_URL: "http://nats", LOG_LEVEL: "loud" });
      expect.unreachable();
    } catch (err) {
      const lines = (err as Error).message.split("\n");
      expect(lines.map((l) => /^config: (\w+) is/.exec(l)?.[1]).sort()).toEqual([
        "LOG_LEVEL",
        "NATS_URL",
        "PORT",
        "PUBLIC_URL",
      ]);
      expect((err as ConfigError).variable).toBe(lines[0]!.split(" ")[1]);
    }
  });
  it("reports a missing required variable as unset", () => {
    expect(() => parseConfig(schema, {})).toThrow(/PUBLIC_URL is unset/);
  });
  it("treats empty strings as unset", () => {
    expect(parseConfig(schema, { PUBLIC_URL: "https://x.example", PORT: "" }).PORT).toBe(3000);
  });
  it("takes a list of NATS URLs (a cluster) and names NATS_URL when one entry is bad", () => {
    expect(
      parseConfig(schema, { PUBLIC_URL: "https://x.example", NATS_URL: "nats://n1:4222, nats://n2:4222,tls://n3:4222" })
        .NATS_URL,
    ).toContain("n3");
    expect(() =>
      parseConfig(schema, { PUBLIC_URL: "https://x.example", NATS_URL: "nats://n1:4222,http://n2:4222" }),
    ).toThrow(/^config: NATS_URL is invalid: .*comma-separated/);
    expect(() => parseConfig(schema, { PUBLIC_URL: "https://x.example", NATS_URL: "nats://n1:4222," })).toThrow(
      /NATS_URL is invalid/,
    );
  });
  it("takes Redis sentinels as host:port list and names REDIS_SENTINELS when malformed", () => {
    const c = parseConfig(schema, { PUBLIC_URL: "https://x.example", REDIS_SENTINELS: "s0:26379,s1:26379" });
    expect(c).toMatchObject({
      REDIS_SENTINELS: "s0:26379,s1:26379",
      REDIS_SENTINEL_NAME: "mymaster",
      REDIS_WAIT_MS: 500,
    });
    expect(() => parseConfig(schema, { PUBLIC_URL: "https://x.example", REDIS_SENTINELS: "redis://s0:26379" })).toThrow(
      /^config: REDIS_SENTINELS is invalid/,
    );
  });
  it("rejects a bad port", () => {
    expect(() => parseConfig(schema, { PUBLIC_URL: "https://x.example", PORT: "70000" })).toThrow(/PORT is invalid/);
  });
});
