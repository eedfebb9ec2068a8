import { MULAW_TABLE } from "./speech/mulaw-frame";

export interface LevelFloorConfig {
  /** While agent audio plays, inbound frames more than this many dB below its level are not speech (0 = off). */
  echoGuardDb: number;
  /** Inbound frames more than this many dB below the caller's own voice (from their turns) are not speech (0 = off). */
  callerFloorDb: number;
}

const FRAME = 160;
/** Frames below −40 dBFS are pauses, not voice: left out of a level. */
const QUIET = 0.01;

/**
 * RMS (0..1) of the voiced 20 ms frames of mu-law audio; 0 when none. Decodes through the table as it
 * sums (the same values as `mulawDecode` + `rms`, without a PCM copy of every agent chunk).
 */
export function voicedRms(mu: Uint8Array): number {
  let sq = 0;
  let n = 0;
  for (let i = 0; i + FRAME <= mu.length; i += FRAME) {
    let s = 0;
    for (let j = i; j < i + FRAME; j++) {
      const x = MULAW_TABLE[mu[j]!]!;
      s += x * x;
    }
    const r = Math.sqrt(s / FRAME) / 32768;
    if (r > QUIET) ((sq += r * r), n++);
  }
  return n ? Math.sqrt(sq / n) : 0;
}

/** `level` lowered by `db` dB; 0 when either is off. A module function: a closure made per frame cost more than the floor. */
function down(level: number, db: number): number {
  return db > 0 && level > 0 ? level * 10 ** (-db / 20) : 0;
}

/**
 * The level below which inbound audio is not the caller taking the turn. Pure: fed the agent's audio
 * as it arrives and the caller's turns, it answers with an RMS floor for the VAD's frames.
 * - Echo guard: a speakerphone or a hybrid sends the agent's own voice back 10–20 dB down; a caller
 *   talking over it is near the agent's level. Energy alone cannot tell a quiet caller from a loud echo:
 *   the margin is the trade-off, it applies only while agent audio plays, and it never rises above the
 *   caller's own level less 6 dB once that is known.
 * - Background speech (a TV, someone else in the room) is far quieter than the caller's own voice,
 *   which is learnt from their turns (a running mean); before the first turn there is no floor.
 */
export class LevelFloor {
  private readonly agent = new Map<string, number>();
  private caller = 0;

  constructor(private readonly cfg: LevelFloorConfig) {}

  /** A chunk of agent audio of utterance `id` (kept for the last few utterances). */
  agentAudio(id: string, mu: Uint8Array): void {
    const level = voicedRms(mu);
    if (level <= (this.agent.get(id) ?? 0)) return;
    this.agent.delete(id);
    this.agent.set(id, level);
    if (this.agent.size > 8) this.agent.delete(this.agent.keys().next().value!);
  }

  /** A caller turn (a final with words) whose voiced frames had RMS `level`. */
  callerTurn(level: number | undefined): void {
    if (!level) return;
    this.caller = this.caller ? this.caller * 0.7 + level * 0.3 : level;
  }

  /** The floor now, with `playing` the utterance being played (if any). */
  floor(playing: string | undefined): number {
    let echo = playing !== undefined ? down(this.agent.get(playing) ?? 0, this.cfg.echoGuardDb) : 0;
    // Never above the caller's own voice less 6 dB: a quiet caller must still be able to barge in
    // (an echo that loud cannot be told from them by level alone).
    if (this.caller > 0) echo = Math.min(echo, down(this.caller, 6));
    return Math.max(echo, down(this.caller, this.cfg.callerFloorDb));
  }
}
