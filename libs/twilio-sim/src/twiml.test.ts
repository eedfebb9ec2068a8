import { afterAll, beforeAll, describe, expect, it } from "vitest";
import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseTwiml, TwimlError } from "./twiml";
import { interpret, type TwimlHost } from "./interpreter";
import { startSimulator, type Simulator } from "./simulator";

// The bidirectional-stream sample from the wire reference §1.1 (Twilio's docs).
const sample = `<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Connect action="https://voice.example.com/voice/webhook/connect-ended" method="POST">   <!-- action optional -->
    <Stream url="wss://voice.example.com/voice/stream"
            name="agent"
            statusCallback="https://voice.example.com/voice/stream-status"
            statusCallbackMethod="POST">
      <Parameter name="sessionId" value="abc123"/>
      <Parameter name="direction" value="outbound"/>
    </Stream>
  </Connect>
  <Redirect method="POST">https://voice.example.com/voice/webhook/reconnect</Redirect>
</Response>`;

/** A host that records the order things happen in; streams "close" when the test says so. */
function recordingHost(streamEnd: "app-closed" | "failed" = "app-closed") {
  const log: string[] = [];
  const ac = new AbortController();
  const host: TwimlHost = {
    signal: ac.signal,
    say: async (v) => void log.push(`say:${v.text}`),
    play: async (v) => void log.push(`play:${v.url}`),
    pause: async (ms) => void log.push(`pause:${ms}`),
    connectStream: async (s) => (log.push(`connect:${s.url}:${JSON.stringify(s.parameters)}`), streamEnd),
    startStream: (s) => void log.push(`start:${s.url}`),
    stopStream: (n) => void log.push(`stop:${n}`),
    gather: async () => (log.push("gather"), { digits: "" }),
    dial: async (t) => void log.push(`dial:${t.map((x) => x.value).join(",")}`),
    warn: (code, m) => void log.push(`warn:${code}:${m}`),
  };
  return { host, log, ac };
}

describe("TwiML parsing", () => {
  it("parses the documented Connect/Stream sample with its Parameters and action", () => {
    const t = parseTwiml(sample);
    expect(t.verbs.map((v) => v.verb)).toEqual(["Connect", "Redirect"]);
    const c = t.verbs[0]!;
    expect(c).toMatchObject({
      verb: "Connect",
      action: "https://voice.example.com/voice/webhook/connect-ended",
      stream: {
        url: "wss://voice.example.com/voice/stream",
        name: "agent",
        parameters: { sessionId: "abc123", direction: "outbound" },
      },
    });
  });

  it("rejects empty bodies and broken XML (12100), unknown or lower-case verbs (12200)", () => {
    const code = (xml: string) => {
      try {
        parseTwiml(xml);
        return 0;
      } catch (e) {
        return (e as TwimlError).code;
      }
    };
    expect(code("")).toBe(12100);
    expect(code("<Response><Say>hi</Response>")).toBe(12100);
    expect(code('<Response><Connect><Stream url="wss://h/s?a=1&b=2"/></Connect></Response>')).toBe(12100); // raw & in XML
    expect(code("<Other/>")).toBe(12100);
    expect(code("<Response><say>hi</say></Response>")).toBe(12200);
    expect(code("<Response><Dance/></Response>")).toBe(12200);
    expect(code("<Response><Say>a &amp; b</Say></Response>")).toBe(0);
  });

  it("warns about a query string on the Stream url", () => {
    const t = parseTwiml('<Response><Connect><Stream url="wss://h/s?token=x&amp;y=1"/></Connect></Response>');
    expect(t.warnings[0]!.message).toMatch(/query string/);
  });
});

describe("TwiML interpretation order", () => {
  it("Connect blocks; after the socket closes its action is fetched (the Redirect after it does not run)", async () => {
    const { host, log } = recordingHost();
    const out = await interpret(parseTwiml(sample), "https://voice.example.com/voice/webhook", host);
    expect(log[0]).toMatch(/^connect:wss:\/\/voice.example.com\/voice\/stream/);
    expect(out).toMatchObject({
      kind: "fetch",
      why: "connect-action",
      url: "https://voice.example.com/voice/webhook/connect-ended",
    });
  });

  it("without action the verb after </Connect> runs; running off the end hangs up", async () => {
    const { host, log } = recordingHost("failed");
    const doc = parseTwiml('<Response><Connect><Stream url="wss://h/s"/></Connect><Say>after</Say></Response>');
    expect(await interpret(doc, undefined, host)).toEqual({ kind: "hangup", reason: "end-of-document" });
    expect(log).toEqual(["connect:wss://h/s:{}", "say:after"]);
  });

  it("Start/Stream does not block; relative Redirect resolves against the document URL", async () => {
    const { host, log } = recordingHost();
    const doc = parseTwiml(
      '<Response><Start><Stream url="wss://h/s"/></Start><Pause length="2"/><Redirect>/next</Redirect><Say>never</Say></Response>',
    );
    expect(await interpret(doc, "https://app.test/voice/webhook", host)).toMatchObject({
      kind: "fetch",
      url: "https://app.test/next",
      method: "POST",
    });
    expect(log).toEqual(["start:wss://h/s", "pause:2000"]);
  });

  it("Gather without input falls through; Dial records the target and ends our part", async () => {
    const { host, log } = recordingHost();
    const doc = parseTwiml(
      "<Response><Gather><Say>Press</Say></Gather><Dial><Number>+15550001111</Number></Dial><Say>never</Say></Response>",
    );
    expect(await interpret(doc, undefined, host)).toEqual({ kind: "hangup", reason: "dial-ended" });
    expect(log).toEqual(["gather", "dial:+15550001111"]);
  });
});

describe("application errors through the simulator: unknown verb, empty body, HTTP 500 → error message and hangup", () => {
  let sim: Simulator;
  let server: Server;
  let base: string;
  const bodies: Record<string, [number, string]> = {
    "/unknown": [200, "<Response><Say>hi</Say><Dance/></Response>"],
    "/empty": [200, ""],
    "/broken": [500, "oops"],
    "/reject": [200, '<Response><Reject reason="busy"/></Response>'],
    "/dial": [200, "<Response><Say>Transferring you</Say><Dial><Number>+15557770000</Number></Dial></Response>"],
  };
  beforeAll(async () => {
    const app = express();
    app.post(/.*/, (req, res) => void res.status(bodies[req.path]![0]).type("text/xml").send(bodies[req.path]![1]));
    server = await new Promise((r) => {
      const s = app.listen(0, "127.0.0.1", () => r(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    sim = await startSimulator();
  });
  afterAll(async () => {
    await sim.stop();
    server.close();
  });

  it.each([
    ["/unknown", 12200],
    ["/empty", 12100],
    ["/broken", 11200],
  ])("%s → warning %i, Twilio's error message, completed", async (path, code) => {
    const phone = await sim.incoming({ from: "+15550000001", to: "+15550000002", url: base + path });
    expect(await phone.waitForEnd()).toBe("completed");
    expect(phone.warnings.map((w) => w.code)).toContain(code);
    const said = phone.heard().sayTexts;
    expect(said.at(-1)).toMatchObject({ source: "twilio-error" });
    expect(said.some((s) => s.text === "hi")).toBe(false); // the whole document is refused, not run up to the bad verb
  });

  it("<Reject reason=busy> on an inbound call ends it busy, never answered", async () => {
    const phone = await sim.incoming({ from: "+15550000001", to: "+15550000002", url: base + "/reject" });
    expect(await phone.waitForEnd()).toBe("busy");
    expect(phone.events.some((e) => e.type === "status" && e.status === "in-progress")).toBe(false);
  });

  it("<Dial> records the transfer target and ends our part of the call", async () => {
    const phone = await sim.incoming({ from: "+15550000001", to: "+15550000002", url: base + "/dial" });
    expect(await phone.waitForEnd()).toBe("completed");
    expect(phone.transfers).toMatchObject([{ kind: "number", value: "+15557770000" }]);
  });
});
