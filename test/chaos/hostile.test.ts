import { Agent } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintStreamToken } from "@voicecall/auth";
import { waitFor, type VoiceStack } from "@voicecall/testkit";
import { CallDriver } from "./calls";
import {
  ATTACKER,
  fuzzFrames,
  post,
  slowBody,
  slowLoris,
  streamSocket,
  type HttpAnswer,
  type Target,
  type WsClose,
} from "./hostile";
import { chaosCalls, fuzzFrames as fuzzFrameCount, printTable, writeArtifact } from "./report";
import { handedOutTokens, leakedSecrets } from "./secrets";
import { startChaosStack } from "./stack";

/**
 * Hostile input at rate through Caddy, from another address than the simulator's, while legitimate
 * calls run beside it: forged and replayed webhooks, bad stream tokens, fuzzed Media Streams frames,
 * slow-loris sockets and oversized bodies. The legitimate calls keep getting replies (and a new call
 * placed during the attack works); each hostile thing gets its answer. Loops are bounded.
 */
const FULL = chaosCalls() >= 20;
const FRAMES = fuzzFrameCount();
const FORGED = FULL ? 2000 : 200;
const BAD_TOKENS = FULL ? 200 : 20;
const LORIS = FULL ? 100 : 20;
const LORIS_HOLD_MS = FULL ? 30_000 : 12_000;
const LEGIT = 2;

let v: VoiceStack;
let target: Target;
let legit: CallDriver[] = [];
const report: Record<string, unknown> = {};

beforeAll(async () => {
  v = await startChaosStack({
    mediaReplicas: 2,
    stopGraceMs: 5000,
    env: { SILENCE_REPROMPT_MS: "600000", MAX_CONCURRENT_CALLS: "200" },
  });
  target = { origin: v.stack.origin, ca: v.stack.ca };
  legit = await Promise.all(
    Array.from({ length: LEGIT }, (_, i) => CallDriver.place(v, i, "Hello, this is Acme Dental.")),
  );
  await Promise.all(
    legit.map((c) =>
      waitFor(async () => (await v.store.getCall(c.callId))?.greetingPlayed, `greeting ${c.index}`, 90_000, 200),
    ),
  );
}, 240_000);

afterAll(async () => {
  if (Object.keys(report).length)
    writeArtifact("hostile", {
      full: FULL,
      command: FULL ? "npm run test:chaos" : "npx vitest run test/chaos/hostile.test.ts",
      ...report,
    });
  await v?.stop();
}, 60_000);

const tally = (xs: (number | string | undefined)[]) =>
  xs.reduce<Record<string, number>>((m, x) => ((m[String(x)] = (m[String(x)] ?? 0) + 1), m), {});

async function pool<T>(n: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await job(i);
      }
    }),
  );
  return out;
}

const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
const formHeaders = (extra: Record<string, string> = {}) => ({
  "content-type": "application/x-www-form-urlencoded",
  ...extra,
});

describe("hostile input at rate beside legitimate calls", () => {
  it("legitimate calls keep working; every hostile request gets its answer", async () => {
    const victim = legit[0]!;
    const victimSid = victim.phone.sid;
    const stateBefore = (await v.store.getCall(victim.callId))!.state;
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 4, localAddress: ATTACKER, ca: target.ca });

    // Legitimate callers keep talking for as long as the attack runs (bounded).
    let attacking = true;
    const legitTurns = legit.map(async (c) => {
      const res: boolean[] = [];
      while (attacking && res.length < 30 && c.phone.status === "in-progress")
        res.push(
          (await c.turnWithRetry(res.length % 2 ? "yes please" : "what are your opening hours", 30_000)).answered,
        );
      return res;
    });

    const forged = pool(FORGED, 4, (i) => {
      const path = i % 2 ? `/voice/status?callId=${victim.callId}` : `/voice/webhook?callId=${victim.callId}`;
      const p = {
        CallSid: victimSid,
        AccountSid: v.stack.secrets.TWILIO_ACCOUNT_SID,
        CallStatus: i % 2 ? "completed" : "in-progress",
      };
      return post(target, path, {
        agent: keepAlive,
        headers: formHeaders({ "x-twilio-signature": Buffer.from(`forged-${i}`).toString("base64") }),
        body: form(p),
      });
    });

    const replayable = v.sim.requests.filter(
      (r) => (r.kind === "status" || r.kind === "voice") && r.callSid === victimSid && r.status === 200,
    );
    const replayed = pool(replayable.length * 10, 2, (i) => {
      const r = replayable[i % replayable.length]!;
      const u = new URL(r.url);
      return post(target, u.pathname + u.search, {
        headers: formHeaders({ "x-twilio-signature": r.signature, "i-twilio-idempotency-token": r.idempotencyToken }),
        body: form(r.params),
      });
    });

    const tokens = handedOutTokens(v.sim);
    const badTokens = pool(BAD_TOKENS, 4, (i) => {
      const used = tokens[i % tokens.length]!;
      // i % 4 === 3: a fresh, valid token of the victim (as anyone with the <Redirect> TwiML could get), unsigned.
      const fresh = () => mintStreamToken(v.stack.secrets.STREAM_TOKEN_SECRET, victim.callId, victimSid, 60_000);
      const token =
        i % 4 === 0
          ? "not-a-token"
          : i % 4 === 1
            ? used
            : i % 4 === 2
              ? `${Date.now() + 60_000}.${"A".repeat(8)}.${"B".repeat(43)}`
              : fresh();
      const sid = `MZ${i.toString(16).padStart(32, "0")}`;
      const start = {
        event: "start",
        sequenceNumber: "1",
        streamSid: sid,
        start: {
          accountSid: v.stack.secrets.TWILIO_ACCOUNT_SID,
          streamSid: sid,
          callSid: victimSid,
          tracks: ["inbound"],
          customParameters: { callId: victim.callId, token },
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        },
      };
      return streamSocket(
        target,
        [JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }), JSON.stringify(start)],
        { maxFrames: 2, holdMs: 10_000 },
      );
    });
    const forgedUpgrade = streamSocket(target, [], { maxFrames: 0, headers: { "x-twilio-signature": "Zm9yZ2Vk" } });

    // Sockets until FRAMES frames went out (the server closes each after its invalid-frame limit); bounded.
    const perSocket = 400;
    let fuzzSentSoFar = 0;
    const fuzz = (async () => {
      const out: WsClose[] = [];
      const maxSockets = Math.ceil(FRAMES / 50);
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (fuzzSentSoFar < FRAMES && out.length < maxSockets) {
            const r = streamSocket(target, fuzzFrames(victim.callId), {
              maxFrames: Math.min(perSocket, FRAMES - fuzzSentSoFar),
            });
            out.push(await r);
            fuzzSentSoFar += out.at(-1)!.sent;
          }
        }),
      );
      return out;
    })();

    const loris = Promise.all(
      Array.from({ length: LORIS }, (_, i) =>
        slowLoris(target, i % 2 ? "/voice/webhook" : "/voice/stream", LORIS_HOLD_MS),
      ),
    );
    const slowBodies = Promise.all(
      Array.from({ length: 3 }, () =>
        slowBody(
          target,
          `/voice/status?callId=${victim.callId}`,
          formHeaders({ "x-twilio-signature": "Zm9yZ2Vk" }),
          2000,
          500,
        ),
      ),
    );

    const big = Buffer.alloc(1024 * 1024, "a");
    const oversized = Promise.all([
      post(target, `/voice/webhook?callId=${victim.callId}`, {
        headers: formHeaders({ "x-twilio-signature": "Zm9yZ2Vk" }),
        body: Buffer.concat([Buffer.from("CallSid=x&Pad="), big]),
      }),
      post(target, "/voice/status", {
        headers: formHeaders({ "x-twilio-signature": "Zm9yZ2Vk", "transfer-encoding": "chunked" }),
        body: big,
      }),
      post(target, "/api/calls", {
        headers: { authorization: `Bearer ${v.stack.secrets.API_TOKEN}`, "content-type": "application/json" },
        body: Buffer.from(JSON.stringify({ to: "+14155550199", greeting: big.toString() })),
      }),
    ]);
    const bigFrame = streamSocket(target, ["x".repeat(200_000)], { maxFrames: 1, holdMs: 5000 });
    const badApi = pool(50, 2, (i) =>
      post(target, "/api/calls", {
        headers: { authorization: `Bearer wrong-${i}`, "content-type": "application/json" },
        body: JSON.stringify({ to: "+14155550199" }),
      }),
    );

    // A new legitimate call placed while all of that is going on: its webhooks must get through.
    const newcomer = (async () => {
      await new Promise((r) => setTimeout(r, 2000));
      const c = await CallDriver.place(
        v,
        50,
        "Hello again.",
        (m) => process.env.CHAOS_DEBUG && process.stderr.write(`newcomer: ${m}\n`),
      );
      await waitFor(async () => (await v.store.getCall(c.callId))?.greetingPlayed, "newcomer greeting", 60_000, 200);
      return { c, turn: await c.turnWithRetry("what are your opening hours", 30_000) };
    })().catch((err: Error) => {
      process.stderr.write(
        `newcomer failed: ${err.message}\n--- gateway ---\n${v.stack.get("gateway").logs().slice(-3000)}\n`,
      );
      return { error: err.message };
    });

    const t0 = Date.now();
    const pending = new Map<string, Promise<unknown>>(
      Object.entries({
        forged,
        replayed,
        badTokens,
        forgedUpgrade,
        fuzz,
        loris,
        slowBodies,
        oversized,
        bigFrame,
        badApi,
        newcomer,
      }),
    );
    for (const [k, p] of pending) void p.finally(() => pending.delete(k));
    const watchdog = setInterval(
      () => process.env.CHAOS_DEBUG && process.stderr.write(`hostile: pending ${[...pending.keys()].join(", ")}\n`),
      10_000,
    );
    const [forgedR, replayedR, badTokensR, forgedUpgradeR, fuzzR, lorisR, slowBodiesR, oversizedR, bigFrameR, badApiR] =
      await Promise.all([
        forged,
        replayed,
        badTokens,
        forgedUpgrade,
        fuzz,
        loris,
        slowBodies,
        oversized,
        bigFrame,
        badApi,
      ]);
    const attackMs = Date.now() - t0;
    const newcomerR = await newcomer;
    clearInterval(watchdog);
    attacking = false;
    const turns = await Promise.all(legitTurns);
    const after = await Promise.all(legit.map((c) => c.turnWithRetry("yes please", 30_000)));

    const fuzzSent = fuzzR.reduce((n, r) => n + r.sent, 0);
    const wsCodes = (xs: WsClose[]) =>
      tally(xs.map((x) => (x.status ? `http ${x.status}` : x.byUs ? "closed by us" : `${x.code} ${x.reason}`)));
    const statuses = (xs: HttpAnswer[]) => tally(xs.map((x) => x.status));
    Object.assign(report, {
      attackMs,
      legitCalls: LEGIT,
      legitTurnsDuringAttack: turns.flat().length,
      legitTurnsAnswered: turns.flat().filter(Boolean).length,
      legitAnsweredAfter: after.filter((a) => a.answered).length,
      legitStreams: legit.map((c) => c.phone.streams.length),
      newcomer: "error" in newcomerR ? newcomerR.error : { answered: newcomerR.turn.answered },
      forgedWebhooks: statuses(forgedR),
      replayedWebhooks: statuses(replayedR),
      badStreamTokens: wsCodes(badTokensR),
      forgedUpgrade: wsCodes([forgedUpgradeR]),
      fuzz: { frames: fuzzSent, sockets: fuzzR.length, closes: wsCodes(fuzzR) },
      slowLoris: {
        sockets: LORIS,
        holdMs: LORIS_HOLD_MS,
        closedByServer: lorisR.filter((l) => l.closedByServer).length,
        answers: tally(lorisR.map((l) => l.answer || "(none)")),
        maxOpenMs: Math.max(...lorisR.map((l) => l.afterMs)),
      },
      slowBodies: statuses(slowBodiesR),
      oversized: oversizedR.map((r) => r.status),
      oversizedFrame: wsCodes([bigFrameR]),
      badApiToken: statuses(badApiR),
    });
    printTable(
      "hostile input (counts by answer)",
      Object.entries(report).map(([what, r]) => ({
        what,
        result: typeof r === "object" ? JSON.stringify(r) : String(r),
      })),
    );

    const legitOk = turns.flat().every(Boolean) && after.every((a) => a.answered);
    if (!legitOk || process.env.CHAOS_DEBUG) {
      for (const c of legit) {
        const ev = c.phone.events.filter((e) => /stream|status|warning/.test(e.type)).map((e) => JSON.stringify(e));
        const media = v.stack.services.media.flatMap((m) =>
          m
            .logs()
            .split("\n")
            .filter((l) => l.includes(c.callId) && !l.includes('"level":30'))
            .slice(-15),
        );
        process.stderr.write(
          `hostile: legit call ${c.index} ${c.callId} status ${c.phone.status}\n  ${ev.join("\n  ")}\n  media:\n  ${media.join("\n  ")}\n`,
        );
      }
    }
    // The legitimate side: every call kept being answered, and a call placed mid-attack worked.
    expect(turns.flat().filter((a) => !a).length, "legitimate turns unanswered during the attack").toBe(0);
    expect(after.every((a) => a.answered)).toBe(true);
    expect(newcomerR).not.toHaveProperty("error");
    if (!("error" in newcomerR)) expect(newcomerR.turn.answered).toBe(true);
    expect(legit.every((c) => c.phone.status === "in-progress")).toBe(true);

    // The hostile side: each got its answer, none changed the victim call.
    expect(
      forgedR.every((r) => r.status === 403 || r.status === 429),
      JSON.stringify(statuses(forgedR)),
    ).toBe(true);
    expect(
      replayedR.every((r) => r.status === 200),
      JSON.stringify(statuses(replayedR)),
    ).toBe(true);
    expect((await v.store.getCall(victim.callId))!.state).toBe(stateBefore);
    expect(
      badTokensR.every((r) => r.code === 1008 && /token|unsigned stream for a phone call/.test(r.reason ?? "")),
      JSON.stringify(wsCodes(badTokensR)),
    ).toBe(true);
    expect(badTokensR.filter((r) => r.reason === "unsigned stream for a phone call").length).toBeGreaterThanOrEqual(
      BAD_TOKENS / 4,
    );
    expect(forgedUpgradeR.status).toBe(403);
    expect(fuzzSent).toBeGreaterThanOrEqual(FRAMES);
    expect(
      fuzzR.every((r) => r.byUs || r.code === 1008 || r.code === 1009),
      JSON.stringify(wsCodes(fuzzR)),
    ).toBe(true);
    expect(
      slowBodiesR.every((r) => r.status >= 400 && r.status < 500),
      JSON.stringify(statuses(slowBodiesR)),
    ).toBe(true);
    expect(oversizedR.map((r) => r.status === 413 || r.status === 429)).toEqual([true, true, true]);
    expect(bigFrameR.code).toBe(1009);
    expect(
      badApiR.every((r) => r.status === 401 || r.status === 429),
      JSON.stringify(statuses(badApiR)),
    ).toBe(true);
    for (const h of v.stack.all()) expect(h.running(), `${h.instance} still running`).toBe(true);
    keepAlive.destroy();
  }, 600_000);

  it("no configured secret or handed-out stream token appears in any service's logs", () => {
    expect(leakedSecrets(v.stack, v.sim)).toEqual([]);
  });
});
