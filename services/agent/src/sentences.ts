/** Blocks a model may write that must never be spoken: reasoning and textual tool calls. */
const HIDDEN = ["think", "thinking", "reasoning", "tool_call", "function_call", "tools"];
const OPEN = new RegExp(`<(${HIDDEN.join("|")})>`, "i");
/** A clause this long is spoken at its last comma rather than waiting for the sentence to end. */
const MAX_CHARS = 200;
const ABBREV = new Set(["mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "eg", "ie", "no", "approx"]);

/** Markdown and stray symbols out, plain words in: what tts should read. */
export function speakable(s: string): string {
  return s
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/^\s{0,3}#{1,6}\s+/gm, "")
    .replace(/^\s*(?:[-*+•]|\d+[.)])\s+/gm, "")
    .replace(/(\*\*|__|\*|`|~~)/g, "")
    .replace(/(^|\s)_(\S[^_]*\S|\S)_(?=\s|$|[.,!?])/g, "$1$2")
    .replace(/\s+/g, " ")
    .trim();
}

/** Text that is a tool call spelled out as JSON rather than a sentence. */
const toolChatter = (s: string): boolean => /^\s*[{[]/.test(s) && /"(name|function|arguments|tool)"\s*:/.test(s);

/**
 * Cuts streamed model text into sentences, each given out as soon as it is complete (its end
 * punctuation followed by space, or a line break). Drops `<think>…</think>` and similar blocks
 * even when their tags are split across chunks, markdown, and JSON tool chatter.
 */
export class SentenceSplitter {
  private raw = "";
  private hidden: string | null = null;
  private text = "";

  /** Add a chunk; returns the sentences it completed. */
  push(chunk: string): string[] {
    this.raw += chunk;
    this.text += this.visible(false);
    return this.cut(false);
  }

  /** End of stream: everything left that is speakable. */
  flush(): string[] {
    this.text += this.visible(true);
    return this.cut(true);
  }

  private visible(final: boolean): string {
    let out = "";
    for (;;) {
      if (this.hidden) {
        const close = this.raw.toLowerCase().indexOf(`</${this.hidden}>`);
        if (close < 0) {
          // Keep a tail that might be the start of the closing tag.
          this.raw = final ? "" : this.raw.slice(-(this.hidden.length + 3));
          return out;
        }
        this.raw = this.raw.slice(close + this.hidden.length + 3);
        this.hidden = null;
        continue;
      }
      const m = OPEN.exec(this.raw);
      if (m) {
        out += this.raw.slice(0, m.index);
        this.hidden = m[1]!.toLowerCase();
        this.raw = this.raw.slice(m.index + m[0].length);
        continue;
      }
      // A trailing "<thi" may become a tag: hold it back until we know.
      const lt = this.raw.lastIndexOf("<");
      if (
        !final &&
        lt >= 0 &&
        /^<[a-z_]*$/i.test(this.raw.slice(lt)) &&
        HIDDEN.some((t) => t.startsWith(this.raw.slice(lt + 1).toLowerCase()))
      ) {
        out += this.raw.slice(0, lt);
        this.raw = this.raw.slice(lt);
        return out;
      }
      out += this.raw;
      this.raw = "";
      return out;
    }
  }

  private cut(final: boolean): string[] {
    const out: string[] = [];
    const re = /([.!?…]+["'”’)\]*_`]*)(\s+)|\n+/g;
    let start = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(this.text))) {
      const end = m.index + (m[1]?.length ?? 0);
      if (m[1] && m[1] === "." && !this.isBoundary(this.text.slice(start, end))) continue;
      this.emit(this.text.slice(start, end), out);
      start = m.index + m[0].length;
    }
    this.text = this.text.slice(start);
    // A run-on sentence: speak up to its last clause break now, so the caller is not kept waiting;
    // with no clause break in a very long run, any word break will do.
    while (!final && this.text.length > MAX_CHARS) {
      const window = this.text.slice(0, MAX_CHARS * 4);
      let brk = Math.max(window.lastIndexOf(", "), window.lastIndexOf("; "), window.lastIndexOf(": "));
      if (brk <= 40 && this.text.length > MAX_CHARS * 4) brk = window.lastIndexOf(" ") - 1;
      if (brk <= 40) break;
      this.emit(this.text.slice(0, brk + 1), out);
      this.text = this.text.slice(brk + 2);
    }
    if (final) {
      this.emit(this.text, out);
      this.text = "";
    }
    return out;
  }

  /** A period ends a sentence unless it ends an abbreviation or a list number ("1."). */
  private isBoundary(sentence: string): boolean {
    const last = /([A-Za-z0-9]+)\.$/.exec(sentence.trim())?.[1];
    if (!last) return true;
    if (ABBREV.has(last.toLowerCase())) return false;
    if (/^\d+$/.test(last) && sentence.trim().length <= last.length + 1) return false;
    return true;
  }

  private emit(s: string, out: string[]): void {
    if (toolChatter(s)) return;
    const t = speakable(s);
    if (/[\p{L}\p{N}]/u.test(t)) out.push(t);
  }
}
