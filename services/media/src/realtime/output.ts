import type { Purpose } from "@voicecall/contracts";
import { msOf, type Playout, type UtteranceAudio } from "../playout";

/** One output item of the model (one spoken message), played as one playout utterance named by its id. */
export interface OutItem {
  id: string;
  responseId: string;
  purpose: Purpose;
  generation: number;
  seq: number;
  bytes: number;
  complete: boolean;
  state: "playing" | "played" | "cut";
  /** For a cut item: what the caller heard (ms), from the echoed marks. */
  heardMs?: number;
  /** The model's transcript of the whole item, once it came. */
  text?: string;
  written: boolean;
}

export interface OutResponse {
  id: string;
  tag?: string;
  generation: number;
  items: OutItem[];
  done: boolean;
}

const purposeOf = (tag: string | undefined): Purpose =>
  tag === "greeting" || tag === "notify" || tag === "prompt" ? tag : tag?.startsWith("bye-") ? "prompt" : "reply";

/**
 * The model's responses as the caller hears them. Every response gets a new playout generation, so a
 * barge-in drops the response being played and any audio of it still on the way with one `cancel`.
 * The pacing, marks and played positions are the playout's (`Playout`), unchanged.
 */
export class ModelOutput {
  private gen = 0;
  /** Audio of generations below this was cut by the caller. */
  private cutBelow = 0;
  private readonly responses = new Map<string, OutResponse>();
  readonly items = new Map<string, OutItem>();

  constructor(private readonly playout: Playout) {}

  /** Generation for audio we make ourselves after the model's (the apology). */
  get nextGeneration(): number {
    return this.gen + 1;
  }

  response(id: string): OutResponse | undefined {
    return this.responses.get(id);
  }

  /** A response still being generated. */
  get inProgress(): boolean {
    for (const r of this.responses.values()) if (!r.done) return true;
    return false;
  }

  started(id: string, tag?: string): OutResponse {
    let r = this.responses.get(id);
    if (!r) {
      r = { id, tag, generation: ++this.gen, items: [], done: false };
      this.responses.set(id, r);
      if (this.responses.size > 200) this.responses.delete(this.responses.keys().next().value!);
    } else if (tag && !r.tag) r.tag = tag;
    return r;
  }

  audio(responseId: string, itemId: string, audio: Uint8Array): OutItem {
    const r = this.started(responseId);
    let it = this.items.get(itemId);
    if (!it) {
      it = {
        id: itemId,
        responseId,
        purpose: purposeOf(r.tag),
        generation: r.generation,
        seq: 0,
        bytes: 0,
        complete: false,
        state: "playing",
        written: false,
      };
      if (r.generation < this.cutBelow) Object.assign(it, { state: "cut", heardMs: 0 });
      r.items.push(it);
      this.items.set(itemId, it);
      if (this.items.size > 500) this.items.delete(this.items.keys().next().value!);
    }
    if (it.complete || it.state === "cut" || audio.length === 0) return it;
    this.playout.push(
      { utteranceId: it.id, seq: it.seq++, last: false, generation: it.generation, purpose: it.purpose },
      audio,
    );
    it.bytes += audio.length;
    return it;
  }

  audioDone(itemId: string): void {
    const it = this.items.get(itemId);
    if (!it || it.complete) return;
    it.complete = true;
    if (it.state === "playing")
      this.playout.push(
        { utteranceId: it.id, seq: it.seq++, last: true, generation: it.generation, purpose: it.purpose },
        new Uint8Array(0),
      );
  }

  /** The response ended (completed, cancelled, failed): whatever audio it had is all there will be. */
  done(responseId: string): OutResponse {
    const r = this.started(responseId);
    r.done = true;
    for (const it of r.items) this.audioDone(it.id);
    return r;
  }

  /** Every response not finished yet is over (the session died): play what came, expect no more. */
  abandon(): void {
    for (const r of this.responses.values()) if (!r.done) this.done(r.id);
  }

  /** The playout finished an utterance (its last mark echoed). */
  played(u: UtteranceAudio): OutItem | undefined {
    const it = this.items.get(u.id);
    if (it && it.state === "playing") it.state = "played";
    return it;
  }

  /** A response is heard when it is done and every item of it was played (or it had no audio). */
  heard(r: OutResponse): boolean {
    return r.done && r.items.every((i) => i.state === "played");
  }

  /**
   * Barge-in: `clear` at once and drop all model audio so far, each item cut at what the caller heard
   * (the playout's estimate from the echoed marks). Returns the items cut, audible ones first.
   */
  cut(): { item: OutItem; heardMs: number; totalMs: number; audible: boolean }[] {
    const paused = this.playout.pause();
    this.cutBelow = this.gen + 1;
    const dropped = this.playout.cancel(this.cutBelow);
    this.playout.resume();
    const out: { item: OutItem; heardMs: number; totalMs: number; audible: boolean }[] = [];
    for (const u of dropped) {
      const it = this.items.get(u.id);
      if (!it || it.state !== "playing") continue;
      const heardMs = paused?.u === u ? paused.playedMs : msOf(u.playedBytes);
      it.state = "cut";
      it.heardMs = heardMs;
      out.push({ item: it, heardMs, totalMs: msOf(it.bytes), audible: paused?.u === u });
    }
    return out.sort((a, b) => Number(b.audible) - Number(a.audible));
  }

  /** The words of an item the caller heard: all of it, or the played share of a cut one (whole words). */
  heardText(it: OutItem): string | undefined {
    if (it.text === undefined || it.state === "playing") return undefined;
    if (it.state === "played") return it.text;
    const words = it.text.split(/\s+/).filter(Boolean);
    const share = it.bytes > 0 ? Math.min(1, (it.heardMs ?? 0) / msOf(it.bytes)) : 0;
    return words.slice(0, Math.floor(words.length * share)).join(" ");
  }
}
