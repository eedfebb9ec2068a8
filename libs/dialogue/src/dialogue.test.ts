import { describe, expect, it } from "vitest";
import { jsgfGrammar, loadScript, matchIntent, normalize, parseScript, intentByReply } from "./index";

const script = loadScript();

describe("dialogue script", () => {
  it("loads the default receptionist demo", () => {
    expect(script.intents.map((i) => i.name)).toEqual(expect.arrayContaining(["hours", "book", "person", "goodbye"]));
    expect(script.intents.find((i) => i.name === "person")!.action).toEqual({ type: "transfer", to: "+14155550100" });
    expect(script.intents.find((i) => i.name === "goodbye")!.action).toEqual({ type: "end_call" });
  });

  it("rejects a broken script with the path of the problem", () => {
    expect(() =>
      parseScript("greeting: hi\nfallback: f\nreprompt: r\ngoodbye: g\nvoicemail: v\nintents: []\n"),
    ).toThrow(/intents/);
    expect(() =>
      parseScript(
        "greeting: hi\nfallback: f\nreprompt: r\ngoodbye: g\nvoicemail: v\nintents:\n  - {name: a, examples: [x], reply: y, after: nope}\n",
      ),
    ).toThrow(/unknown intent nope/);
  });

  it("matches every example phrase to its own intent (in context)", () => {
    for (const i of script.intents) {
      for (const e of i.examples) {
        const m = matchIntent(script, e, { lastIntent: i.after });
        expect(m?.intent.name, e).toBe(i.name);
      }
    }
  });

  it("matches loosely, uses context for yes/no, and returns null for nonsense", () => {
    expect(matchIntent(script, "Uh, hi, what are your opening hours?")?.intent.name).toBe("hours");
    expect(matchIntent(script, "yes", { lastIntent: "book" })?.intent.name).toBe("book_yes");
    expect(matchIntent(script, "yes", { lastIntent: "hours" })?.intent.name).toBe("anything_else_yes");
    expect(matchIntent(script, "2")?.intent.name).toBe("book");
    expect(matchIntent(script, "two")?.intent.name).toBe("book");
    expect(matchIntent(script, "purple elephants dancing")).toBeNull();
  });

  it("recovers the last intent from its (possibly cut) reply", () => {
    const book = script.intents.find((i) => i.name === "book")!;
    expect(intentByReply(script, book.reply)?.name).toBe("book");
    expect(intentByReply(script, book.reply.slice(0, 20))?.name).toBe("book");
  });

  it("builds a JSGF grammar covering every example phrase", () => {
    const g = jsgfGrammar(script);
    expect(g.startsWith("#JSGF V1.0;")).toBe(true);
    expect(g).toMatch(/grammar receptionist;/);
    expect(g).toMatch(/public <utterance> = <hours> \| <book>/);
    for (const i of script.intents) for (const e of i.examples) expect(g).toContain(`( ${normalize(e)} )`);
    expect(g).not.toMatch(/[?,.!]\s*\)/);
  });
});
