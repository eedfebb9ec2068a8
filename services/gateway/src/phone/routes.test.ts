import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { verifyStreamToken } from "@voicecall/auth";
import { CallEvent, SayMessage, subjects } from "@voicecall/contracts";
import { waitFor } from "@voicecall/testkit";
import {
  API_TOKEN,
  PUBLIC_URL,
  STREAM_SECRET,
  api,
  startGateway,
  startHarness,
  type Harness,
  type RunningGateway,
} from "../../test/harness";
import { explainRefusal } from "./page/explain";

// The browser phone's routes in-process (the page itself runs in Chromium: test/browser/phone.test.ts).
let h: Harness;
let g: RunningGateway;
beforeAll(async () => {
  h = await startHarness();
  g = await startGateway(h, { MAX_CONCURRENT_CALLS: "2" });
  await g.gw.start();
});
afterAll(async () => {
  await g?.close();
  await h?.stop();
});
beforeEach(() => h.reset());

interface WebCall {
  callId: string;
  callSid: string;
  streamSid: string;
  streamUrl: string;
  token: string;
}
const create = async () => (await api(g.url, "POST", "/phone/calls", {})).json as WebCall;

/** Read SSE `data:` lines from the events endpoint until `until` holds. */
async function readEvents(callId: string, until: (events: { type: string }[]) => boolean, onReady?: () => void) {
  const ac = new AbortController();
  const res = await fetch(`${g.url}/phone/events/${callId}`, {
    headers: { authorization: `Bearer ${API_TOKEN}` },
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  const events: { type: string; text?: string }[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const line = buf
        .slice(0, i)
        .split("\n")
        .find((l) => l.startsWith("data: "));
      buf = buf.slice(i + 2);
      if (!line) continue;
      const e = JSON.parse(line.slice(6));
      events.push(e);
      if (e.type === "ready") onReady?.();
    }
  }
  ac.abort();
  return events;
}

describe("browser phone routes", () => {
  it("serves the page and its bundled script", async () => {
    const page = await fetch(`${g.url}/phone`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('src="/phone/app.js"');
    const js = await fetch(`${g.url}/phone/app.js`);
    expect(js.headers.get("content-type")).toContain("javascript");
    const text = await js.text();
    expect(text).toContain("registerProcessor");
    expect(text).not.toMatch(/^import /m);
  });

  it("needs the API token", async () => {
    expect((await api(g.url, "POST", "/phone/calls", {}, "wrong-token-0123456789abcdef")).status).toBe(401);
    expect((await fetch(`${g.url}/phone/calls`, { method: "POST" })).status).toBe(401);
    expect((await fetch(`${g.url}/phone/events/x`)).status).toBe(401);
    expect(await h.store.activeCallIds()).toEqual([]);
  });

  it("creates a web call that is live at once, with a stream token for it", async () => {
    const c = await create();
    const rec = await h.store.getCall(c.callId);
    expect(rec).toMatchObject({ channel: "web", state: "in-progress", callSid: c.callSid, direction: "inbound" });
    expect(c.streamUrl).toBe(`${PUBLIC_URL.replace("https", "wss")}/voice/stream`);
    expect(verifyStreamToken(STREAM_SECRET, c.token, c.callId, c.callSid).ok).toBe(true);
    await h.settle();
    const lifecycle = h.messages
      .filter((m) => m.subject === subjects.lifecycle && m.data.callId === c.callId)
      .map((m) => m.data.type);
    expect(lifecycle).toEqual(["call.created", "call.answered"]);
    expect(h.sim.restRequests).toHaveLength(0);
  });

  it("refuses calls over the concurrency limit", async () => {
    await create();
    await create();
    expect((await api(g.url, "POST", "/phone/calls", {})).status).toBe(429);
  });

  it("streams the call's events and what the agent says, after a ready event", async () => {
    const c = await create();
    const publish = () => {
      h.bus.publish(subjects.say(c.callId), SayMessage, {
        type: "say",
        callId: c.callId,
        ts: Date.now(),
        utteranceId: "u1",
        text: "Hello there",
        purpose: "reply",
        generation: 1,
        endOfTurn: true,
      });
      h.bus.publish(subjects.evt(c.callId), CallEvent, {
        type: "transcript.final",
        callId: c.callId,
        ts: Date.now(),
        streamSid: c.streamSid,
        text: "hi",
      });
    };
    const events = await readEvents(c.callId, (es) => es.length >= 3, publish);
    expect(events.map((e) => e.type)).toEqual(["ready", "say", "transcript.final"]);
    expect(
      (await fetch(`${g.url}/phone/events/nope`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).status,
    ).toBe(404);
  });

  it("hangs up: completed, the media worker told to close the stream", async () => {
    const c = await create();
    const r = await api(g.url, "POST", `/phone/calls/${c.callId}/hangup`, {});
    expect(r).toMatchObject({ status: 200, json: { state: "completed" } });
    expect((await h.store.getCall(c.callId))?.state).toBe("completed");
    await waitFor(
      () => h.messages.some((m) => m.subject === subjects.ctl(c.callId) && m.data.type === "close"),
      "close ctl",
    );
    // Again: nothing more to do, still completed.
    expect((await api(g.url, "POST", `/phone/calls/${c.callId}/hangup`, {})).status).toBe(200);
    expect((await api(g.url, "POST", `/phone/calls/nope/hangup`, {})).status).toBe(404);
  });
});

describe("the page's words for a refused call", () => {
  it("turns 401 and 429 into sentences that say where the token comes from and what is busy", () => {
    expect(explainRefusal(401, JSON.stringify({ error: "unauthorized: enter the API token" }))).toMatch(
      /API token was not accepted.*npm run dev.*API_TOKEN in \.env/,
    );
    expect(explainRefusal(429, JSON.stringify({ error: "too many concurrent calls" }))).toMatch(
      /^Too many calls are in progress/,
    );
    expect(
      explainRefusal(503, JSON.stringify({ error: "redis unreachable", reason: "redis unreachable: reconnecting" })),
    ).toBe("The voice service is not ready: redis unreachable: reconnecting.");
    expect(explainRefusal(500, "internal error")).toBe("The call could not start (HTTP 500): internal error.");
  });
});
