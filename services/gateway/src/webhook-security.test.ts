import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { twilioSignature } from "@voicecall/auth";
import { keys } from "@voicecall/contracts";
import {
  AUTH_TOKEN,
  ACCOUNT_SID,
  PUBLIC_URL,
  api,
  newCallSid,
  startGateway,
  startHarness,
  twilioPost,
  type Harness,
  type PostOptions,
  type RunningGateway,
} from "../test/harness";

let h: Harness;
let g: RunningGateway;
let callId: string;
let callSid: string;
beforeAll(async () => {
  h = await startHarness();
  g = await startGateway(h);
  const r = await api(g.url, "POST", "/api/calls", { to: "+14155550123" });
  ({ callId, callSid } = r.json);
  for (const s of ["initiated", "ringing"]) {
    expect(
      (
        await twilioPost(g.url, `/voice/status?callId=${callId}`, {
          CallSid: callSid,
          AccountSid: ACCOUNT_SID,
          CallStatus: s,
        })
      ).status,
    ).toBe(200);
  }
});
afterAll(async () => {
  await g?.close();
  await h?.stop();
});

/** Everything a bad request must not change: the call hash, its timeline, the cached TwiML, the bus. */
async function snapshot() {
  return {
    call: await h.redis.hgetall(keys.call(callId)),
    timeline: await h.redis.lrange(keys.timeline(callId), 0, -1),
    twiml: await h.redis.get(keys.webhookAnswer(callSid)),
    calls: (await h.redis.keys("vc:call:*")).sort(),
    messages: h.messages.length,
  };
}

type Case = {
  name: string;
  path: () => string;
  params: () => Record<string, string>;
  opts?: () => PostOptions;
  status: number;
  body?: RegExp;
};
const st = () => `/voice/status?callId=${callId}`;
const ringing = () => ({ CallSid: callSid, AccountSid: ACCOUNT_SID, CallStatus: "ringing" });
const answered = () => ({ CallSid: callSid, AccountSid: ACCOUNT_SID, CallStatus: "in-progress" });

const cases: Case[] = [
  {
    name: "forged signature",
    path: st,
    params: answered,
    opts: () => ({ signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
    status: 403,
  },
  {
    name: "signed with another auth token",
    path: st,
    params: answered,
    opts: () => ({ signature: twilioSignature("not-the-token", PUBLIC_URL + st(), answered()) }),
    status: 403,
  },
  {
    name: "missing signature",
    path: st,
    params: answered,
    opts: () => ({ signature: null }),
    status: 403,
    body: /missing signature/,
  },
  {
    name: "signed for another host",
    path: st,
    params: answered,
    opts: () => ({ signUrl: `https://evil.example${st()}` }),
    status: 403,
  },
  {
    name: "signed for another path",
    path: st,
    params: answered,
    opts: () => ({ signUrl: `${PUBLIC_URL}/voice/amd?callId=${callId}` }),
    status: 403,
  },
  {
    name: "signed for another callId",
    path: st,
    params: answered,
    opts: () => ({ signUrl: `${PUBLIC_URL}/voice/status?callId=other` }),
    status: 403,
  },
  {
    name: "tampered parameter",
    path: st,
    params: answered,
    opts: () => ({ signature: twilioSignature(AUTH_TOKEN, PUBLIC_URL + st(), ringing()) }),
    status: 403,
  },
  { name: "replayed callback", path: st, params: ringing, status: 200 },
  {
    name: "replayed callback, same idempotency token",
    path: st,
    params: ringing,
    opts: () => ({ idempotencyToken: "x" }),
    status: 200,
  },
  {
    name: "unknown CallSid (status)",
    path: () => "/voice/status",
    params: () => ({ CallSid: newCallSid(), CallStatus: "completed" }),
    status: 404,
  },
  {
    name: "CallSid of another call (status)",
    path: st,
    params: () => ({ CallSid: newCallSid(), CallStatus: "completed" }),
    status: 404,
  },
  {
    name: "unknown callId (webhook)",
    path: () => "/voice/webhook?callId=nope",
    params: () => ({ CallSid: newCallSid(), CallStatus: "in-progress" }),
    status: 200,
    body: /<Say>.+<Hangup\/>/,
  },
  {
    name: "CallSid of another call (webhook)",
    path: () => `/voice/webhook?callId=${callId}`,
    params: () => ({ CallSid: newCallSid(), CallStatus: "in-progress" }),
    status: 200,
    body: /<Say>.+<Hangup\/>/,
  },
  {
    name: "unknown CallSid (amd)",
    path: () => "/voice/amd",
    params: () => ({ CallSid: newCallSid(), AnsweredBy: "human" }),
    status: 404,
  },
  {
    name: "malformed form: bad percent-escape",
    path: st,
    params: answered,
    opts: () => ({ rawBody: "CallSid=%zz&CallStatus=completed" }),
    status: 400,
    body: /malformed form/,
  },
  {
    name: "malformed form: empty field name",
    path: st,
    params: () => ({}),
    opts: () => ({ rawBody: "=x&CallStatus=completed" }),
    status: 400,
  },
  {
    name: "signed but missing CallSid",
    path: st,
    params: () => ({ CallStatus: "completed" }),
    status: 400,
    body: /CallSid/,
  },
  {
    name: "signed but unknown CallStatus",
    path: st,
    params: () => ({ CallSid: callSid, CallStatus: "exploded" }),
    status: 400,
    body: /CallStatus/,
  },
  {
    name: "signed but bad CallSid format",
    path: () => "/voice/webhook",
    params: () => ({ CallSid: "XX1", From: "+1" }),
    status: 400,
  },
  {
    name: "JSON body",
    path: st,
    params: answered,
    opts: () => ({ contentType: "application/json", rawBody: JSON.stringify(answered()) }),
    status: 415,
  },
  { name: "oversized body", path: st, params: () => ({ ...answered(), Pad: "x".repeat(20_000) }), status: 413 },
  {
    name: "oversized body, chunked (no length)",
    path: st,
    params: answered,
    opts: () => ({
      rawBody: new Blob(["CallSid=" + callSid + "&Pad=" + "y".repeat(40_000)]).stream() as never,
      headers: {},
    }),
    status: 413,
  },
];

describe("bad Twilio requests leave state untouched", () => {
  it.each(cases)("$name → $status", async (c) => {
    const before = await snapshot();
    const r = await twilioPost(g.url, c.path(), c.params(), c.opts?.());
    expect(r.status).toBe(c.status);
    if (c.body) expect(r.body).toMatch(c.body);
    if (c.status === 200) expect(r.type).toMatch(/^text\/xml/);
    await h.settle(); // any (wrong) bus message has arrived by now
    const after = await snapshot();
    expect(after).toEqual(before);
  });
});
