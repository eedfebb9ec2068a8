import { describe, expect, it } from "vitest";
import { Playout } from "../playout";
import { ModelOutput } from "./output";
import { toolAction } from "./tools";

/** A playout whose clock and echoes the test drives: the ModelOutput decisions, events in, messages out. */
function setup() {
  const sent: { event: string; mark?: { name: string } }[] = [];
  let t = 0;
  const done: string[] = [];
  const p = new Playout({
    streamSid: "MZ1",
    send: (s) => void sent.push(JSON.parse(s)),
    chunkMs: 20,
    leadMs: 100,
    markMs: 20,
    onDone: (u) => void done.push(u.id),
    now: () => t,
  });
  const out = new ModelOutput(p);
  const echoAll = () => {
    for (const m of sent.splice(0)) if (m.event === "mark") p.onMark(m.mark!.name);
  };
  return { p, out, sent, done, echoAll, tick: (ms: number) => (t += ms) };
}

describe("realtime ModelOutput", () => {
  it("plays each item as an utterance; an item is heard only when its last mark echoes", () => {
    const { out, done, echoAll } = setup();
    const r = out.started("resp_1", "greeting");
    const it = out.audio("resp_1", "item_1", new Uint8Array(800));
    expect(it.purpose).toBe("greeting");
    out.audioDone("item_1");
    out.done("resp_1");
    expect(out.heard(r)).toBe(false);
    for (let i = 0; i < 10 && done.length === 0; i++) echoAll();
    expect(done).toEqual(["item_1"]);
  });

  it("cut: clear, the audible item's heard ms, late audio of the cut response dropped, the next response plays", () => {
    const { out, sent, echoAll, tick } = setup();
    out.started("resp_1");
    out.audio("resp_1", "item_1", new Uint8Array(8 * 1000));
    echoAll(); // 100 ms sent and echoed
    echoAll();
    tick(10);
    const cuts = out.cut();
    expect(sent.some((m) => m.event === "clear")).toBe(true);
    expect(cuts).toHaveLength(1);
    expect(cuts[0]!.audible).toBe(true);
    expect(cuts[0]!.heardMs).toBeGreaterThanOrEqual(100);
    expect(cuts[0]!.heardMs).toBeLessThanOrEqual(220);
    expect(cuts[0]!.item.state).toBe("cut");
    sent.length = 0;
    out.audio("resp_1", "item_2", new Uint8Array(800)); // still on its way when the caller spoke
    expect(out.items.get("item_2")!.state).toBe("cut");
    expect(sent.filter((m) => m.event === "media")).toHaveLength(0);
    out.started("resp_2");
    out.audio("resp_2", "item_3", new Uint8Array(800));
    expect(sent.filter((m) => m.event === "media").length).toBeGreaterThan(0);
  });

  it("heardText keeps the played share of a cut item's words, whole words only", () => {
    const { out } = setup();
    out.started("r");
    const it = out.audio("r", "i", new Uint8Array(8 * 1000));
    it.text = "one two three four five six seven eight nine ten";
    expect(out.heardText(it)).toBeUndefined(); // still playing
    Object.assign(it, { state: "cut", heardMs: 450 });
    expect(out.heardText(it)).toBe("one two three four");
  });
});

describe("realtime tools", () => {
  it("maps function calls to actions; malformed ones are refused with a reason", () => {
    expect(toolAction("end_call", {})).toEqual({ kind: "hangup", reason: "agent-end-call" });
    expect(toolAction("transfer_call", { to: "+14155550100" })).toEqual({ kind: "transfer", to: "+14155550100" });
    expect(toolAction("transfer_call", { to: "call mom" }).kind).toBe("refused");
    expect(toolAction("send_digits", { digits: "12#w3" })).toEqual({ kind: "digits", digits: "12#w3" });
    expect(toolAction("send_digits", { digits: "12; rm -rf" }).kind).toBe("refused");
    expect(toolAction("launch", {}).kind).toBe("refused");
  });
});
