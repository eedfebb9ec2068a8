import { randomUUID } from "node:crypto";
import type { Logger } from "@voicecall/log";
import type { ChatMessage, LanguageModel } from "./llm/types";
import { streamReply, type ToolCall, type Turn, type SaidLine } from "./turn";

export interface TurnRunnerDeps {
  model: LanguageModel;
  log: Logger;
  /** The system prompt for the next turn. */
  systemPrompt: () => string;
  /** The conversation stopped following the call: no turn may speak. */
  stopped: () => boolean;
  /** Send one sentence to tts. */
  speak: (u: SaidLine, generation: number, endOfTurn: boolean) => void;
  /** A turn's first sentence is on its way, `latencyMs` after the caller's input arrived. */
  started: (generation: number, latencyMs: number) => void;
  /** The model finished answering `turn` (its tool calls, if any, to run now). */
  finished: (turn: Turn, tools: ToolCall[]) => void;
}

/**
 * The model's side of the conversation: its history, and one turn at a time streamed into sentences.
 * Turns are fenced by generation: only the newest may speak; an older one's late output is dropped.
 */
export class TurnRunner {
  history: ChatMessage[] = [];
  current?: Turn;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly d: TurnRunnerDeps) {}

  /** The history as the model sees it (without the system prompt): turns cut before a word was heard are left out. */
  get messages(): ChatMessage[] {
    return this.history.filter((m) => m.content);
  }

  /** The model is still answering the current turn. */
  get answering(): boolean {
    return this.current !== undefined && !this.current.finished;
  }

  /** Resolves when the turn started last has finished (for tests and shutdown). */
  settled(): Promise<void> {
    return this.running;
  }

  /** Stop the current turn and forget it (the call changed course: voicemail). */
  drop(): void {
    this.current?.ac.abort();
    this.current = undefined;
  }

  /** The caller said `text`: answer it as turn `generation` (`reply: false` only records it). */
  answer(text: string, generation: number, reply: boolean): void {
    this.history.push({ role: "user", content: text });
    if (!reply) return;
    const turn: Turn = { generation, startedAt: Date.now(), ac: new AbortController(), said: [], finished: false };
    this.current = turn;
    this.running = this.run(turn);
  }

  stale(turn: Turn): boolean {
    return this.d.stopped() || this.current !== turn || turn.ac.signal.aborted;
  }

  private async run(turn: Turn): Promise<void> {
    const messages: ChatMessage[] = [{ role: "system", content: this.d.systemPrompt() }, ...this.messages];
    let tools: ToolCall[] = [];
    try {
      const r = await streamReply(
        this.d.model,
        messages,
        turn.ac.signal,
        () => this.stale(turn),
        (s, end) => this.sayReply(turn, s, end),
      );
      if (!r) return;
      tools = r;
    } catch (err) {
      if (this.stale(turn)) return;
      this.d.log.error({ err: (err as Error).message, model: this.d.model.label }, "llm failed");
      this.sayReply(turn, "Sorry, I am having trouble right now. Please try again in a moment.", true);
    }
    turn.finished = true;
    this.d.log.info(
      { generation: turn.generation, latencyMs: Date.now() - turn.startedAt, sentences: turn.said.length },
      "turn answered",
    );
    this.d.finished(turn, tools);
  }

  private sayReply(turn: Turn, text: string, endOfTurn: boolean): void {
    if (this.stale(turn)) return;
    if (turn.said.length === 0) this.d.started(turn.generation, Date.now() - turn.startedAt);
    const u: SaidLine = { id: `r${turn.generation}-${turn.said.length}`, text, purpose: "reply", turn };
    turn.said.push(u);
    if (!turn.msg) {
      turn.msg = { role: "assistant", content: text };
      this.history.push(turn.msg);
    } else turn.msg.content += ` ${text}`;
    this.d.speak(u, turn.generation, endOfTurn);
  }

  /**
   * A new stream (the media worker died): the current turn's sentences that were not fully heard and
   * not cut by the caller are said again, under new ids (tts drops a repeated id).
   */
  resayUnheard(): void {
    const turn = this.current;
    if (!turn || turn.superseded) return;
    const cutAt = turn.said.findIndex((u) => u.cut !== undefined);
    // Sentences from the first one the caller cut on were dropped on purpose.
    turn.said.slice(0, cutAt < 0 ? undefined : cutAt).forEach((u, i) => {
      if (u.played) return;
      const again: SaidLine = { ...u, id: `${u.id}.${randomUUID().slice(0, 4)}` };
      turn.said[i] = again;
      this.d.log.info({ utteranceId: again.id, was: u.id }, "unheard reply said again on the new stream");
      this.d.speak(again, turn.generation, turn.finished && i === turn.said.length - 1);
    });
  }
}
