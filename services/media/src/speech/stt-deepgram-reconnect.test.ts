import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testLogger, waitFor } from "@voicecall/testkit";
import { startFakeDeepgram, type FakeDeepgram } from "../../test/speech/deepgram-fake";
import { createDeepgramStt } from "./stt-deepgram";
import type { SttResult, SttStream } from "./types";

const KEY = "test-key-reconnect-0123456789";

/** The fake "hears" how much audio came since the last finalisation: "<n> frames". */
const frames = (mu: Uint8Array) => `${Math.round(mu.length / 160)} frames`;

/** 20 ms frames of non-silent mu-law. */
function push(s: SttStream, n: number): void {
  for (let i = 0; i < n; i++) s.pushFrame(new Uint8Array(160).fill(0x10 + (i % 32)));
}

function reader(s: SttStream) {
  const got: SttResult[] = [];
  let error: Error | undefined;
  const done = (async () => {
    try {
      for await (const r of s.results) got.push(r);
    } catch (err) {
      error = err as Error;
    }
  })();
  return { finals: () => got.filter((r) => r.final).map((r) => r.text), error: () => error, done };
}

describe("deepgram adapter: a dropped socket", () => {
  let server: FakeDeepgram;
  beforeAll(async () => {
    server = await startFakeDeepgram({ apiKey: KEY, transcribe: frames });
  });
  afterAll(() => server?.close());

  it("reconnects, sends the audio of the gap up the new socket, and transcripts continue; no key in the logs", async () => {
    const { log, text } = testLogger("media", "debug");
    const s = createDeepgramStt({ apiKey: KEY, url: server.url, log, reconnectBackoffMs: 150 }).open({
      callId: "drop",
      signal: new AbortController().signal,
    });
    const r = reader(s);
    const before = server.queries.length;
    await waitFor(() => server.queries.length > before, "first socket");
    push(s, 30);
    s.endUtterance(new Int16Array(0));
    await waitFor(() => r.finals().length === 1, "first final");
    server.drop();
    await waitFor(() => text().includes("deepgram socket dropped, reconnecting"), "the drop noticed");
    // The caller speaks on during the gap: buffered, then sent up the new socket.
    push(s, 45);
    s.endUtterance(new Int16Array(0));
    await waitFor(() => r.finals().length === 2, "a final after the reconnect");
    expect(r.finals()).toEqual(["30 frames", "45 frames"]);
    expect(server.queries.length - before).toBe(2);
    expect(text()).toContain("deepgram reconnected");
    s.close();
    await r.done;
    expect(r.error()).toBeUndefined();
    expect(text()).not.toContain(KEY);
  });

  it("gives up after the bounded reconnects when Deepgram stays away, failing the stream", async () => {
    const gone = await startFakeDeepgram({ apiKey: KEY, transcribe: frames });
    const { log, lines } = testLogger("media", "debug");
    const s = createDeepgramStt({ apiKey: KEY, url: gone.url, log, reconnects: 2, reconnectBackoffMs: 10 }).open({
      callId: "gone",
      signal: new AbortController().signal,
    });
    const r = reader(s);
    await waitFor(() => gone.queries.length === 1, "socket open");
    await gone.close();
    await r.done;
    expect(r.error()?.message).toMatch(/deepgram/);
    expect(lines.filter((l) => l.msg === "deepgram socket dropped, reconnecting")).toHaveLength(2);
    expect(lines.filter((l) => l.msg === "deepgram stream lost")).toHaveLength(1);
  });

  it("a refused key is final at once: no reconnect", async () => {
    const { log, lines } = testLogger("media", "debug");
    const s = createDeepgramStt({ apiKey: "wrong-key-000000000", url: server.url, log, reconnectBackoffMs: 10 }).open({
      callId: "k",
      signal: new AbortController().signal,
    });
    const r = reader(s);
    await r.done;
    expect(r.error()?.message).toMatch(/HTTP 401/);
    expect(lines.filter((l) => l.msg === "deepgram socket dropped, reconnecting")).toHaveLength(0);
  });
});
