import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { callRecordFromHash, keys, terminalStates, type CallRecord } from "@voicecall/contracts";

const ADMIT = readFileSync(new URL("./admit-stream.lua", import.meta.url), "utf8");

export interface StreamAdmissionRequest {
  callId: string;
  streamSid: string;
  /** The stream token's id (its single-use key) and how long to remember it. */
  tokenId: string;
  tokenTtlMs: number;
  /** The upgrade carried a valid X-Twilio-Signature (else only a browser call is admitted). */
  signed: boolean;
  /** Lease owner (`worker/streamSid`), this worker, and the lease TTL. */
  owner: string;
  worker: string;
  leaseTtlMs: number;
}

export type StreamAdmission =
  | { ok: true; call: CallRecord; streamCount: number; previousOwner?: string }
  | { ok: false; refused: "unsigned" | "used" | "unknown" | "ended" | "owned" };

/**
 * Token spent, call checked, stream lease taken (over from an older stream), record naming the stream and
 * stream count, all in one script: this is on the path from Twilio's `start` to the caller's first greeting frame.
 */
export async function admitStream(redis: Redis, r: StreamAdmissionRequest, now = Date.now()): Promise<StreamAdmission> {
  const res = (await redis.eval(
    ADMIT,
    3,
    keys.call(r.callId),
    keys.seen(`stream-token:${r.tokenId}`),
    keys.lease("stream", r.callId),
    r.signed ? "1" : "0",
    String(r.tokenTtlMs),
    r.owner,
    String(r.leaseTtlMs),
    r.streamSid,
    r.worker,
    String(now),
    ...terminalStates,
  )) as [string, string?, string?, string[]?];
  const [verdict, streams, previous, flat] = res;
  if (verdict !== "ok") return { ok: false, refused: verdict as Exclude<StreamAdmission, { ok: true }>["refused"] };
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat!.length; i += 2) hash[flat![i]!] = flat![i + 1]!;
  return {
    ok: true,
    call: callRecordFromHash(hash),
    streamCount: Number(streams),
    previousOwner: previous || undefined,
  };
}
