import { afterAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import twilio from "twilio";
import { startProc, waitFor, type Proc } from "@voicecall/testkit";
import { simulatorHttpClient } from "./http-client";

describe("cli: standalone simulator", () => {
  let proc: Proc | undefined;
  afterAll(async () => proc?.stop());

  it("prints origin and credentials; the twilio client can place a call on it", async () => {
    const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));
    proc = startProc(process.execPath, ["--import", "tsx", cli, "--port", "0", "--auth-token", "cli-token", "--quiet"]);
    const line = await waitFor(
      () =>
        proc!
          .output()
          .split("\n")
          .find((l) => l.startsWith("{")),
      "cli banner",
      20_000,
    );
    const info = JSON.parse(line) as { origin: string; accountSid: string; authToken: string };
    expect(info).toMatchObject({
      origin: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      accountSid: expect.stringMatching(/^AC[0-9a-f]{32}$/),
      authToken: "cli-token",
    });
    const client = twilio(info.accountSid, info.authToken, { httpClient: simulatorHttpClient(info.origin) });
    const call = await client.calls.create({
      to: "+15550001111",
      from: "+15550002222",
      twiml: "<Response><Hangup/></Response>",
    });
    await waitFor(async () => (await client.calls(call.sid).fetch()).status === "completed", "call completed");
  });
});
