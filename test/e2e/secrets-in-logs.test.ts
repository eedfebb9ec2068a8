import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startVoiceStack, waitFor, type VoiceStack } from "@voicecall/testkit";
import { handedOutTokens } from "../chaos/secrets";
import { FAIL_MODES, FailingUpstream, type FailMode } from "./failing-upstream";

/**
 * Twilio REST and every vendor (ElevenLabs, OpenAI TTS, the LLM server, Deepgram) fail in each way —
 * connection refused, no answer (timeout), 401, 500 — while calls are placed, hung up and spoken. Then
 * every line every service printed is searched for every secret in every spelling: there must be none,
 * and the API must have answered Twilio's failures 502/503 with a reason, never a bare 500.
 *
 * The fakes are the less forgiving kind: vendors echo the key they were sent in their error bodies
 * (OpenAI does, partly masked), and Twilio's 500 body repeats the Authorization header it got.
 */
const hex = (n: number) => randomBytes(n).toString("hex");
const keys = {
  ELEVENLABS_API_KEY: `el_${hex(16)}`,
  OPENAI_API_KEY: `sk-${hex(20)}`,
  DEEPGRAM_API_KEY: hex(20),
  LLM_API_KEY: `sk-llm-${hex(16)}`,
};

let v: VoiceStack;
let twilio: FailingUpstream;
let vendors: FailingUpstream;
const answers: { mode: FailMode; what: string; status: number; json: unknown }[] = [];

/** The credential a request carried, as the vendor would echo it back. */
const sentKey = (h: Record<string, string | string[] | undefined>) =>
  String(h["xi-api-key"] ?? h.authorization ?? "").replace(/^(Bearer|Token)\s+/, "");

beforeAll(async () => {
  twilio = await FailingUpstream.start({
    passTo: () => v.sim.origin,
    errorBody: (status, req) =>
      status === 401
        ? { code: 20003, message: "Authenticate", more_info: "https://www.twilio.com/docs/errors/20003", status }
        : {
            code: 20500,
            message: `Internal Server Error (request had Authorization: ${req.headers.authorization})`,
            status,
          },
  });
  vendors = await FailingUpstream.start({
    errorBody: (status, req) => {
      const k = sentKey(req.headers);
      const message = status === 401 ? `Incorrect API key provided: ${k}` : `upstream failed for key ${k}`;
      // OpenAI's, ElevenLabs' and Deepgram's error shapes at once.
      return {
        error: { message, type: "invalid_request_error" },
        detail: { status: "invalid_api_key", message },
        err_code: "INVALID_AUTH",
        err_msg: message,
      };
    },
  });
  await vendors.set("refused");
  v = await startVoiceStack({
    env: { LOG_LEVEL: "debug", SILENCE_REPROMPT_MS: "600000" },
    serviceEnv: {
      gateway: { TWILIO_API_BASE_URL: twilio.url },
      tts: {
        TTS_PROVIDER: "elevenlabs",
        TTS_FALLBACK_PROVIDER: "openai",
        ELEVENLABS_API_KEY: keys.ELEVENLABS_API_KEY,
        ELEVENLABS_URL: vendors.url,
        OPENAI_API_KEY: keys.OPENAI_API_KEY,
        OPENAI_TTS_URL: vendors.url,
        TTS_FIRST_CHUNK_TIMEOUT_MS: "1500",
        TTS_RETRIES: "1",
      },
      agent: {
        LLM_PROVIDER: "openai",
        LLM_BASE_URL: `${vendors.url}/v1`,
        LLM_API_KEY: keys.LLM_API_KEY,
        LLM_TIMEOUT_MS: "1500",
        LLM_RETRIES: "1",
      },
      media: {
        STT_PROVIDER: "deepgram",
        DEEPGRAM_API_KEY: keys.DEEPGRAM_API_KEY,
        DEEPGRAM_URL: `${vendors.url.replace("http", "ws")}/v1/listen`,
      },
    },
  });
}, 180_000);

afterAll(async () => {
  await v?.stop();
  await twilio?.stop();
  await vendors?.stop();
}, 60_000);

const logsOf = (name: string) =>
  v.stack
    .all()
    .filter((h) => h.name === name)
    .map((h) => h.logs())
    .join("\n");
const count = (text: string, re: RegExp) => (text.match(new RegExp(re, "g")) ?? []).length;

/** Evidence each vendor was tried in this mode: a request it received, or (port closed) the client's refusal in the logs. */
function vendorMarks(mode: FailMode) {
  const seen = (path: RegExp) => vendors.seen.filter((s) => s.mode === mode && path.test(s.url)).length;
  if (mode === "refused")
    return {
      tts: count(logsOf("tts"), /tts provider failed|tts failed/),
      agent: count(logsOf("agent"), /llm attempt failed|llm failed/),
      media: count(logsOf("media"), /deepgram socket error|speech to text failed/),
    };
  return { tts: seen(/text-to-speech|audio\/speech/), agent: seen(/chat\/completions/), media: seen(/\/v1\/listen/) };
}

async function placeLiveCall(i: number): Promise<{ callId: string; sid: string }> {
  const r = await v.api<{ callId: string }>("POST", "/api/calls", {
    to: `+1415555${2000 + i}`,
    mode: "conversation",
    greeting: "Hello from the failure test.",
  });
  expect(r.status, JSON.stringify(r.json)).toBe(202);
  const sid = await waitFor(async () => (await v.store.getCall(r.json.callId))?.callSid, "callSid", 30_000, 100);
  const phone = await waitFor(() => v.sim.call(sid), "simulator call", 30_000, 50);
  await phone.waitForStream(1, 30_000);
  return { callId: r.json.callId, sid };
}

describe("outside services failing in every way", () => {
  it("the API answers Twilio failures 503 `twilio unreachable` / 502 `twilio rejected: <code> <message>`", async () => {
    for (const [i, mode] of FAIL_MODES.entries()) {
      await vendors.set(mode);
      await twilio.set("pass");
      const before = vendorMarks(mode);
      const { callId, sid } = await placeLiveCall(i);
      const phone = v.sim.call(sid)!;
      // Spoken both ways: the caller talks (Deepgram) and presses a key (the LLM); the operator has text said (TTS).
      await phone.say("what are your opening hours");
      phone.press("1");
      const said = await v.api("POST", `/api/calls/${callId}/say`, { text: "Your appointment is at noon." });
      expect(said.status).toBe(202);
      await waitFor(
        () => {
          const now = vendorMarks(mode);
          return now.tts > before.tts && now.agent > before.agent && now.media > before.media;
        },
        `every vendor tried while ${mode}`,
        30_000,
        100,
      );

      await twilio.set(mode);
      const placed = await v.api("POST", "/api/calls", { to: "+14155550199", mode: "conversation" });
      answers.push({ mode, what: "place", ...placed });
      const hung = await v.api("POST", `/api/calls/${callId}/hangup`);
      answers.push({ mode, what: "hangup", ...hung });

      await twilio.set("pass");
      const again = await v.api("POST", `/api/calls/${callId}/hangup`);
      expect(again.status, JSON.stringify(again.json)).toBe(202);
      await phone.waitForEnd(30_000);
    }
    const expected = (mode: FailMode) =>
      mode === "refused" || mode === "timeout"
        ? { status: 503, error: "twilio unreachable" }
        : {
            status: 502,
            error:
              mode === "401"
                ? "twilio rejected: 20003 Authenticate"
                : expect.stringMatching(/^twilio rejected: 20500 Internal Server Error/),
          };
    expect(
      answers.map((a) => ({
        mode: a.mode,
        what: a.what,
        status: a.status,
        error: (a.json as { error?: string }).error,
      })),
    ).toEqual(answers.map((a) => ({ mode: a.mode, what: a.what, ...expected(a.mode) })));
    for (const a of answers) expect((a.json as { reason?: string }).reason, JSON.stringify(a)).toBeTruthy();
  }, 300_000);

  it("no line any service printed holds a secret in any form", () => {
    const s = v.stack.secrets;
    const secrets: Record<string, string> = {
      TWILIO_AUTH_TOKEN: s.TWILIO_AUTH_TOKEN,
      "SID:token": `${s.TWILIO_ACCOUNT_SID}:${s.TWILIO_AUTH_TOKEN}`,
      API_TOKEN: s.API_TOKEN,
      STREAM_TOKEN_SECRET: s.STREAM_TOKEN_SECRET,
      ...keys,
    };
    handedOutTokens(v.sim).forEach((t, i) => {
      secrets[`stream token #${i}`] = t;
      secrets[`stream token #${i} (MAC)`] = t.split(".").pop()!;
    });
    expect(Object.keys(secrets).length).toBeGreaterThan(8); // stream tokens were handed out
    const forms = (x: string) => {
      const b64 = Buffer.from(x).toString("base64");
      return {
        raw: x,
        base64: b64.replace(/=+$/, ""),
        base64url: Buffer.from(x).toString("base64url"),
        urlencoded: encodeURIComponent(x),
      };
    };
    const leaks: string[] = [];
    for (const h of v.stack.all()) {
      const lines = h.logs().split("\n");
      for (const [name, value] of Object.entries(secrets))
        for (const [form, f] of Object.entries(forms(value))) {
          const n = lines.filter((l) => l.includes(f)).length;
          if (n)
            leaks.push(
              `${h.instance}: ${name} (${form}) in ${n} line(s), e.g. ${lines.find((l) => l.includes(f))!.slice(0, 300)}`,
            );
        }
    }
    expect(leaks).toEqual([]);
    // The scan saw the failures it is about.
    const gateway = logsOf("gateway");
    expect(gateway).toMatch(/twilio/i);
    expect(answers.length).toBe(FAIL_MODES.length * 2);
  });
});
