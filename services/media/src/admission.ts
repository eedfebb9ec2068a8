import { verifyStreamToken } from "@voicecall/auth";
import type { CallRecord } from "@voicecall/contracts";
import type { CallStore } from "@voicecall/store";
import type { StartFrame } from "./twilio-codec";

export interface AdmissionDeps {
  store: CallStore;
  secret: string;
  worker: string;
  leaseTtlMs: number;
}

/** Who the stream is, once admitted. */
export interface StreamIdentity {
  callId: string;
  callSid: string;
  streamSid: string;
  /** The stream lease's owner: `worker/streamSid`. */
  owner: string;
}

export type Admission =
  | (StreamIdentity & { ok: true; call: CallRecord; streamCount: number; previousOwner?: string })
  | { ok: false; code: number; reason: string };

const refusals = {
  unsigned: [1008, "unsigned stream for a phone call"],
  used: [1008, "token already used"],
  unknown: [1008, "unknown call"],
  ended: [1000, "call ended"],
  owned: [1013, "stream owned elsewhere"],
} as const;

export const streamOwner = (worker: string, streamSid: string): string => `${worker}/${streamSid}`;

/**
 * Whether a Media Stream's `start` may own its call's stream: the token (signed for this call, single use),
 * a signed upgrade unless a browser call, a live call, and the stream lease (taken over from an older
 * stream). The token is checked here; the rest is one Redis round trip (`store.admitStream`).
 */
export async function admitStream(d: AdmissionDeps, f: StartFrame, signed: boolean): Promise<Admission> {
  const { callSid, streamSid, customParameters: p } = f.start;
  const callId = p.callId ?? "";
  const token = p.token ?? "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(callId) || !token)
    return { ok: false, code: 1008, reason: "missing callId or token" };
  const check = verifyStreamToken(d.secret, token, callId, callSid);
  if (!check.ok) return { ok: false, code: 1008, reason: `token ${check.reason}` };
  const owner = streamOwner(d.worker, streamSid);
  const a = await d.store.admitStream({
    callId,
    streamSid,
    tokenId: check.id,
    // Kept past the token's expiry: a replay must stay refused for as long as the token would verify.
    tokenTtlMs: Math.max(60_000, check.expiresAt - Date.now() + 60_000),
    signed,
    owner,
    worker: d.worker,
    leaseTtlMs: d.leaseTtlMs,
  });
  if (!a.ok) {
    const [code, reason] = refusals[a.refused];
    return { ok: false, code, reason };
  }
  return {
    ok: true,
    callId,
    callSid,
    streamSid,
    owner,
    call: a.call,
    streamCount: a.streamCount,
    previousOwner: a.previousOwner,
  };
}
