import { describe, expect, it } from "vitest";
import { SentenceSplitter } from "./sentences";

function run(chunks: string[]): { during: string[][]; all: string[] } {
  const s = new SentenceSplitter();
  const during = chunks.map((c) => s.push(c));
  const all = [...during.flat(), ...s.flush()];
  return { during, all };
}

describe("SentenceSplitter", () => {
  it("emits each sentence as soon as it is complete", () => {
    const { during, all } = run(["Hello the", "re. How are", " you? I am", " fine"]);
    expect(during).toEqual([[], ["Hello there."], ["How are you?"], []]);
    expect(all).toEqual(["Hello there.", "How are you?", "I am fine"]);
  });

  it("does not cut at abbreviations, decimals or list numbers", () => {
    expect(run(["Dr. Smith costs 3.5 dollars. Ok."]).all).toEqual(["Dr. Smith costs 3.5 dollars.", "Ok."]);
    expect(run(["Options:\n1. Hours\n2. Booking\n"]).all).toEqual(["Options:", "Hours", "Booking"]);
  });

  it("drops reasoning even when the tags are split across chunks", () => {
    const { all } = run([
      "<thi",
      "nk>The user wants hours. I should",
      " answer.</th",
      "ink>We open at nine. ",
      "<think>more</think>Bye.",
    ]);
    expect(all).toEqual(["We open at nine.", "Bye."]);
  });

  it("strips markdown and never speaks tool chatter", () => {
    const { all } = run([
      "**Sure!** Here is [our site](http://x). ",
      '{"name": "end_call", "arguments": {}}\n',
      "<tool_call>end_call</tool_call>Goodbye.",
    ]);
    expect(all).toEqual(["Sure!", "Here is our site.", "Goodbye."]);
  });

  it("cuts a run-on sentence at a clause break instead of waiting for its end", () => {
    const s = new SentenceSplitter();
    const clause = "and then we also have appointments on saturday mornings";
    const out = s.push(`Well, ${clause}, ${clause}, ${clause}, ${clause}, and more`);
    expect(out).toHaveLength(1);
    expect(out[0]!.endsWith(",")).toBe(true);
    expect([...out, ...s.flush()].join(" ")).toBe(`Well, ${clause}, ${clause}, ${clause}, ${clause}, and more`);
  });

  it("never lets a sentence grow without bound", () => {
    const s = new SentenceSplitter();
    const out = [...s.push("word ".repeat(400)), ...s.flush()];
    expect(out.length).toBeGreaterThan(1);
    expect(Math.max(...out.map((x) => x.length))).toBeLessThanOrEqual(1000);
    expect(out.join(" ")).toBe("word ".repeat(400).trim());
  });

  it("keeps an unclosed think block silent", () => {
    expect(run(["<think>never ends"]).all).toEqual([]);
    expect(run(["a < b is true."]).all).toEqual(["a < b is true."]);
  });
});
