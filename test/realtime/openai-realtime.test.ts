import { describe, expect, it } from "vitest";
import { createOpenAiRealtime } from "../../services/media/src/realtime/openai-realtime";
import { realtimeConformance, type VendorFake } from "./conformance";
import { FakeRealtimeServer } from "./fake-realtime-server";

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The OpenAI Realtime fake, seen the way the conformance suite sees any vendor. */
async function openAiFake(shape: "ga" | "beta", apiKey?: string): Promise<VendorFake> {
  const srv = await FakeRealtimeServer.start({ shape, apiKey });
  const s = () => srv.last!;
  return {
    url: srv.url,
    callerLine: (t) => void srv.callerLines.push(t),
    onUserTurn: (fn) => void (srv.onUserTurn = (text) => fn(text)),
    session: () => {
      const c: Msg = s().config;
      const ga = shape === "ga";
      const td: Msg = (ga ? c.audio?.input?.turn_detection : c.turn_detection) ?? {};
      return {
        inFormat: ga ? c.audio?.input?.format?.type : c.input_audio_format,
        outFormat: ga ? c.audio?.output?.format?.type : c.output_audio_format,
        voice: ga ? c.audio?.output?.voice : c.voice,
        instructions: c.instructions,
        vadSilenceMs: td.silence_duration_ms,
        createResponse: td.create_response,
        interrupt: td.interrupt_response,
        tools: (c.tools ?? []).map((t: Msg) => t.name),
      };
    },
    audioIn: () => new Uint8Array(s().audioIn),
    audioOut: (n) => s().sentAudio[n]!.subarray(0, s().responses[n]!.audioBytes),
    truncates: () => s().truncates.map((t) => ({ itemId: t.item_id, ms: t.audio_end_ms })),
    toolOutputs: () =>
      s()
        .items.filter((i) => i.type === "function_call_output")
        .map((i) => ({ callId: i.call_id, output: i.output })),
    userTexts: () =>
      s()
        .items.filter((i) => i.type === "message" && i.role === "user" && i.content?.[0]?.type === "input_text")
        .map((i) => i.content[0].text),
    failNextResponse: (code) => void (s().fault = { ...s().fault, failNextResponse: code }),
    disconnectAfterDeltas: (n) => void (s().fault = { ...s().fault, disconnectAfterDeltas: n }),
    refuse: (n) => void (srv.refuse = n),
    close: () => srv.close(),
  };
}

for (const shape of ["ga", "beta"] as const) {
  realtimeConformance({
    label: `openai (${shape})`,
    start: (o) => openAiFake(shape, o?.apiKey),
    model: (fake, o) =>
      createOpenAiRealtime({
        url: fake.url,
        model: "gpt-realtime",
        voice: "alloy",
        apiKey: o?.apiKey,
        authHeader: shape === "beta" ? "api-key" : "bearer",
        shape,
        vad: { type: "server_vad", threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 },
        transcribeModel: "gpt-4o-mini-transcribe",
        connectTimeoutMs: 5000,
      }),
  });
}

describe("openai realtime: vendor text never carries the key", () => {
  it("an error event quoting the key (masked or whole) reaches us scrubbed", async () => {
    const key = "sk-proj-abcdef0123456789SECRET";
    const srv = await FakeRealtimeServer.start({ apiKey: key });
    const ac = new AbortController();
    try {
      const m = createOpenAiRealtime({
        url: srv.url,
        model: "m",
        voice: "alloy",
        apiKey: key,
        authHeader: "bearer",
        shape: "ga",
        vad: { type: "server_vad", threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 },
        transcribeModel: "t",
        connectTimeoutMs: 5000,
      });
      const s = await m.connect({
        instructions: "x",
        tools: [],
        history: [],
        respondToSpeech: true,
        interruptOnSpeech: true,
        signal: ac.signal,
      });
      srv.last!.send({
        type: "error",
        error: {
          type: "invalid_request_error",
          code: "invalid_api_key",
          message: `Incorrect API key provided: sk-proj-ab***ET, and ${key}`,
        },
      });
      for await (const e of s.events) {
        if (e.type !== "error") continue;
        expect(e.code).toBe("invalid_api_key");
        expect(e.fatal).toBe(true);
        expect(e.message).not.toContain("sk-");
        expect(e.message).not.toContain("SECRET");
        expect(e.message).toContain("Incorrect API key provided: [key]");
        break;
      }
    } finally {
      ac.abort();
      await srv.close();
    }
  });
});
