import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { get } from "node:https";
import twilio from "twilio";
import { mulawEncode, readWav } from "@voicecall/audio";
import { startServers, waitFor, type Servers } from "@voicecall/testkit";
import { startSimulator, type Simulator } from "./simulator";
import { simulatorHttpClient } from "./http-client";
import { FixtureApp, streamSidOf, type FixtureSocket } from "./fixture-app";

const TOKEN = "e2e-auth-token";
const fetchOk = (url: string, ca: Buffer) =>
  new Promise<boolean>((resolve) =>
    get(url, { ca }, (r) => (r.resume(), resolve(true))).on("error", () => resolve(false)),
  );
const tone = (ms: number): Uint8Array => {
  const pcm = new Int16Array(ms * 8);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return mulawEncode(pcm);
};
const media = (s: FixtureSocket, mu: Uint8Array) =>
  s.ws.send(
    JSON.stringify({
      event: "media",
      streamSid: streamSidOf(s),
      media: { payload: Buffer.from(mu).toString("base64") },
    }),
  );
const mark = (s: FixtureSocket, name: string) =>
  s.ws.send(JSON.stringify({ event: "mark", streamSid: streamSidOf(s), mark: { name } }));
const echoOf = (s: FixtureSocket, name: string) =>
  s.messages.find((m) => m.msg.event === "mark" && m.msg.mark.name === name);

describe("simulator ↔ app through real Caddy TLS (webhooks, wss Media Streams)", () => {
  let servers: Servers;
  let app: FixtureApp;
  let sim: Simulator;
  let origin: string;
  let wssOrigin: string;
  const connect = (path = "/voice/stream", after = "<Redirect>/voice/after</Redirect>") =>
    `<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="${wssOrigin}${path}" statusCallback="${origin}/voice/stream-status"><Parameter name="callId" value="call-1"/><Parameter name="token" value="tok"/></Stream></Connect>${after}</Response>`;
  const nextSocket = async (n: number) =>
    waitFor(
      () => (app.sockets.length >= n && streamSidOf(app.sockets[n - 1]!) ? app.sockets[n - 1] : undefined),
      `socket #${n}`,
    );
  const dial = (path = "/voice/webhook") =>
    sim.incoming({
      from: "+15551230000",
      to: "+15559870000",
      url: `${origin}${path}`,
      statusCallback: `${origin}/voice/status`,
      statusCallbackEvents: ["answered", "completed"],
    });

  beforeAll(async () => {
    app = new FixtureApp(TOKEN);
    const port = await app.listen();
    servers = await startServers({
      nats: false,
      redis: false,
      backend: "path",
      caddy: { routes: [{ path: "/voice/*", upstreams: [`127.0.0.1:${port}`] }] },
    });
    origin = servers.caddy!.origin;
    wssOrigin = origin.replace(/^https/, "wss");
    app.publicOrigin = origin;
    // Caddy issues its internal certificate on first use: wait until TLS answers before dialing.
    await waitFor(() => fetchOk(`${origin}/voice/warmup`, servers.caddy!.ca), "caddy TLS ready", 20_000);
    sim = await startSimulator({ authToken: TOKEN, ca: servers.caddy!.ca });
  });
  afterAll(async () => {
    await sim?.stop();
    await app?.close();
    await servers?.stop();
  });

  it("signed webhook → Connect/Stream over wss; marks echo after playback; clear flushes; app close runs the Redirect", async () => {
    app.twiml["/voice/webhook"] = connect();
    app.twiml["/voice/after"] = "<Response><Say>Goodbye</Say><Hangup/></Response>";
    const phone = await dial();
    const s = await nextSocket(1).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(phone.events)}`);
    });
    const start = s.messages.find((m) => m.msg.event === "start")!.msg;
    expect(s.messages[0]!.msg).toEqual({ event: "connected", protocol: "Call", version: "1.0.0" });
    expect(start.sequenceNumber).toBe("1");
    expect(start.start).toMatchObject({
      callSid: phone.sid,
      tracks: ["inbound"],
      mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      customParameters: { callId: "call-1", token: "tok" },
    });
    expect(start.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(app.upgrades[0]).toEqual({ path: "/voice/stream", url: "/voice/stream", validSignature: true });

    // 1 s of audio then a mark: the echo comes only once that second has been played.
    const sentAt = Date.now();
    media(s, tone(1000));
    mark(s, "m1");
    const echo = await waitFor(() => echoOf(s, "m1"), "m1 echo");
    const echoMs = echo.at - sentAt;
    console.log(`[measure] mark echo after 1000 ms of audio: ${echoMs} ms`);
    expect(echoMs).toBeGreaterThanOrEqual(950);
    const m1 = phone.heard().marks.find((m) => m.name === "m1")!;
    // The player runs on its own clock: the ms between the media and the mark message arriving have played.
    expect(m1.cleared).toBe(false);
    expect(m1.queuedAheadMs).toBeGreaterThanOrEqual(900);
    expect(phone.heard().ms).toBeGreaterThanOrEqual(1000);

    // A mark with nothing buffered is echoed at once.
    mark(s, "m2");
    await waitFor(() => echoOf(s, "m2"), "m2 echo");
    expect(phone.heard().marks.find((m) => m.name === "m2")!.queuedAheadMs).toBe(0);

    // 3 s queued, clear after a little has played: the rest is dropped and the pending mark comes back.
    const before = phone.heard().ms;
    media(s, tone(3000));
    mark(s, "m3");
    await phone.waitForAudio(before + 200);
    s.ws.send(JSON.stringify({ event: "clear", streamSid: streamSidOf(s) }));
    await waitFor(() => echoOf(s, "m3"), "m3 echo after clear");
    const heard = phone.heard();
    expect(heard.marks.find((m) => m.name === "m3")).toMatchObject({ cleared: true });
    expect(heard.clears).toHaveLength(1);
    expect(heard.clears[0]!.marksEchoed).toEqual(["m3"]);
    expect(heard.clears[0]!.droppedMs).toBeGreaterThan(0);
    expect(heard.ms).toBeLessThan(before + 3000);
    expect(phone.queuedMs()).toBe(0);
    expect(heard.segments[0]).toMatchObject({ source: "stream", streamSid: start.streamSid });
    expect(readWav(phone.heardWav()).samples.length).toBe(heard.audio.length);
    expect(readWav(phone.heardWav(true)).samples.length).toBeGreaterThan(heard.audio.length); // placed on the call's timeline

    // Inbound media: string fields, 20 ms steps, one shared sequence counter; DTMF; caller audio.
    const frames = s.messages.filter((m) => m.msg.event === "media").map((m) => m.msg);
    expect(frames[0]).toMatchObject({ sequenceNumber: "2", media: { track: "inbound", chunk: "1", timestamp: "0" } });
    expect(frames[1].media).toMatchObject({ chunk: "2", timestamp: "20" });
    expect(Buffer.from(frames[0].media.payload, "base64")).toEqual(Buffer.alloc(160, 0xff));
    phone.press("7");
    const dtmf = await waitFor(() => s.messages.find((m) => m.msg.event === "dtmf"), "dtmf");
    expect(dtmf.msg.dtmf).toEqual({ track: "inbound_track", digit: "7" });
    await phone.say(new Int16Array(1600).fill(6000));
    expect(
      s.messages.some((m) => m.msg.event === "media" && Buffer.from(m.msg.media.payload, "base64")[0] !== 0xff),
    ).toBe(true);
    const seqs = s.messages.filter((m) => m.msg.sequenceNumber).map((m) => Number(m.msg.sequenceNumber));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    // The app closes the socket: no stop; <Connect> ends and the <Redirect> after it runs.
    s.ws.close(1000);
    expect(await phone.waitForEnd()).toBe("completed");
    expect(s.messages.some((m) => m.msg.event === "stop")).toBe(false);
    expect(phone.heard().sayTexts.map((t) => t.text)).toEqual(["Goodbye"]);
    const paths = app.hooks
      .filter((h) => h.params.CallSid === phone.sid)
      .map(
        (h) =>
          h.path +
          (h.params.StreamEvent
            ? `:${h.params.StreamEvent}`
            : h.path === "/voice/status"
              ? `:${h.params.CallStatus}`
              : ""),
      );
    // Callbacks are asynchronous (no ordering guarantee across kinds); the TwiML flow is ordered.
    expect(new Set(paths)).toEqual(
      new Set([
        "/voice/webhook",
        "/voice/stream-status:stream-started",
        "/voice/status:in-progress",
        "/voice/stream-status:stream-stopped",
        "/voice/after",
        "/voice/status:completed",
      ]),
    );
    expect(paths.indexOf("/voice/after")).toBeGreaterThan(paths.indexOf("/voice/stream-status:stream-stopped"));
    expect(app.hooks.filter((h) => h.params.CallSid).every((h) => h.validSignature && h.idempotencyToken)).toBe(true);
    expect(app.hooks.find((h) => h.path === "/voice/webhook")!.params).toMatchObject({
      CallStatus: "ringing",
      Direction: "inbound",
      From: "+15551230000",
    });
    expect(phone.requests().every((r) => r.status === 200)).toBe(true);
  });

  it("phone.say(text) speaks with flite: the app receives that speech as paced 20 ms frames", async () => {
    app.twiml["/voice/webhook"] = connect();
    const phone = await dial();
    const s = await nextSocket(app.sockets.length + 1);
    const t0 = Date.now();
    await phone.say("Hello, I would like to book a table for two.");
    const spoken = s.messages.filter(
      (m) => m.msg.event === "media" && Buffer.from(m.msg.media.payload, "base64").some((b) => b !== 0xff),
    );
    const sayEvent = phone.events.find((e) => e.type === "caller.say")!;
    expect(sayEvent.ms as number).toBeGreaterThan(1000);
    expect(spoken.length).toBeGreaterThan(((sayEvent.ms as number) / 20) * 0.5);
    // Real-time pacing: the say resolves no sooner than the audio lasts (lower bound only).
    expect(Date.now() - t0).toBeGreaterThanOrEqual((sayEvent.ms as number) - 100);
    const all = s.messages.filter((m) => m.msg.event === "media");
    const rate = ((all.length - 1) * 1000) / (all.at(-1)!.at - all[0]!.at);
    console.log(`[measure] inbound media frames per second over ${all.length} frames: ${rate.toFixed(1)} (Twilio: 50)`);
    await phone.hangup();
  });

  it("<Start><Stream> does not block: a Gather runs beside it; the stream gets stop when the call ends", async () => {
    app.twiml["/voice/start"] =
      `<Response><Start><Stream url="${wssOrigin}/voice/stream" track="both_tracks"/></Start><Gather numDigits="1" timeout="10" action="${origin}/voice/start-gathered"/></Response>`;
    app.twiml["/voice/start-gathered"] = "<Response><Hangup/></Response>";
    const phone = await dial("/voice/start");
    const s = await nextSocket(app.sockets.length + 1);
    expect(s.messages.find((m) => m.msg.event === "start")!.msg.start.tracks).toEqual(["inbound", "outbound"]);
    await phone.waitForEvent("gather");
    phone.press("9");
    await phone.waitForEnd();
    await waitFor(() => s.closed, "unidirectional stream closed");
    expect(s.messages.at(-1)!.msg.event).toBe("stop");
    expect(s.messages.some((m) => m.msg.event === "dtmf")).toBe(false); // DTMF messages are bidirectional-only
    expect(
      app.hooks.find((h) => h.path === "/voice/start-gathered" && h.params.CallSid === phone.sid)!.params.Digits,
    ).toBe("9");
  });

  it("knobs: a Stream url query string is stripped (and signed without it); no stop on redirect; close code", async () => {
    sim.knobs.stopOnRedirect = false;
    sim.knobs.wsCloseCode = 1001;
    try {
      app.twiml["/voice/qs"] =
        `<Response><Connect><Stream url="${wssOrigin}/voice/stream?token=abc&amp;x=1"/></Connect></Response>`;
      const phone = await dial("/voice/qs");
      const s = await nextSocket(app.sockets.length + 1);
      expect(app.upgrades.at(-1)).toEqual({ path: "/voice/stream", url: "/voice/stream", validSignature: true });
      expect(phone.warnings.some((w) => /query string/.test(w.message))).toBe(true);
      await phone.call.end("completed"); // hang-up always sends stop, whatever the redirect knob says
      await waitFor(() => s.closed, "closed");
      expect(s.closed!.code).toBe(1001);
      expect(s.messages.at(-1)!.msg.event).toBe("stop");

      app.twiml["/voice/qs"] = `<Response><Connect><Stream url="${wssOrigin}/voice/stream"/></Connect></Response>`;
      const phone2 = await dial("/voice/qs");
      const s2 = await nextSocket(app.sockets.length + 1);
      phone2.call.redirect({ method: "POST", twiml: "<Response><Hangup/></Response>" });
      await waitFor(() => s2.closed, "closed by redirect");
      expect(s2.messages.some((m) => m.msg.event === "stop")).toBe(false);
      expect(await phone2.waitForEnd()).toBe("completed");
    } finally {
      sim.knobs.stopOnRedirect = true;
      sim.knobs.wsCloseCode = 1000;
    }
  });

  it("caller hangs up mid-stream: stop, close 1000, completed callback", async () => {
    app.twiml["/voice/webhook"] = connect();
    const phone = await dial();
    const s = await nextSocket(app.sockets.length + 1);
    await phone.hangup();
    await waitFor(() => s.closed, "socket closed");
    const stop = s.messages.find((m) => m.msg.event === "stop")!.msg;
    expect(stop).toMatchObject({ stop: { callSid: phone.sid }, streamSid: streamSidOf(s) });
    expect(s.closed!.code).toBe(1000);
    await phone.waitForEnd();
    // (Status callbacks may arrive in any order: find the terminal one.)
    expect(phone.requests("status").find((r) => r.params.CallStatus === "completed")!.params).toMatchObject({
      SequenceNumber: "1",
    });
  });

  it("REST redirect to <Gather> ends the stream (stop + close): why Gather breaks Connect/Stream", async () => {
    app.twiml["/voice/webhook"] = connect();
    app.twiml["/voice/gathered"] = (p) => `<Response><Say>You pressed ${p.Digits}</Say><Hangup/></Response>`;
    const phone = await dial();
    const s = await nextSocket(app.sockets.length + 1);
    const client = twilio(sim.accountSid, TOKEN, { httpClient: simulatorHttpClient(sim.origin) });
    await client.calls(phone.sid).update({
      twiml: `<Response><Gather numDigits="1" action="${origin}/voice/gathered" timeout="5"><Say>Press a key</Say></Gather></Response>`,
    });
    await waitFor(() => s.closed, "stream closed by the redirect");
    expect(s.messages.at(-1)!.msg.event).toBe("stop");
    await phone.waitForEvent("gather");
    phone.press("3");
    await phone.waitForEnd();
    expect(app.hooks.find((h) => h.path === "/voice/gathered" && h.params.CallSid === phone.sid)!.params.Digits).toBe(
      "3",
    );
    expect(phone.heard().sayTexts.map((t) => t.text)).toEqual(["Press a key", "You pressed 3"]);
  });

  it("a rejected handshake is a stream-error; <Connect> ends and the next verb runs", async () => {
    app.rejectUpgrade["/voice/stream-bad"] = 403;
    app.twiml["/voice/webhook-bad"] = connect("/voice/stream-bad", "<Say>Fallback</Say>");
    const phone = await dial("/voice/webhook-bad");
    await phone.waitForEnd();
    expect(phone.warnings.map((w) => w.code)).toContain(31920);
    expect(phone.streams[0]!.result).toMatchObject({ ok: false, status: 403 });
    expect(phone.heard().sayTexts.map((t) => t.text)).toEqual(["Fallback"]);
    await waitFor(
      () => app.hooks.find((h) => h.params.CallSid === phone.sid && h.params.StreamEvent === "stream-error"),
      "stream-error callback",
    );
  });

  it("binary frames and a wrong streamSid are warnings 31950 / 31951, and ignored", async () => {
    app.twiml["/voice/webhook"] = connect();
    const phone = await dial();
    const s = await nextSocket(app.sockets.length + 1);
    s.ws.send(Buffer.from([1, 2, 3]));
    s.ws.send(
      JSON.stringify({
        event: "media",
        streamSid: "MZwrong",
        media: { payload: Buffer.from(tone(100)).toString("base64") },
      }),
    );
    await waitFor(() => phone.warnings.length >= 2, "warnings");
    expect(phone.warnings.map((w) => w.code).sort()).toEqual([31950, 31951]);
    expect(phone.heard().ms).toBe(0);
    await phone.hangup();
  });
});
