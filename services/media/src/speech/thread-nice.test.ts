import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createPocketsphinxStt } from "./stt-pocketsphinx";
import { secondOpinionGrammar } from "./second-opinion";
import { niceThisThread, threadIdOf } from "./thread-nice";

/** A thread's nice from /proc (field 19 of its stat; the name in parentheses may hold spaces). */
const niceOf = (tid: number) =>
  Number(readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);

describe("thread nice", () => {
  it("reads the thread id from a /proc/thread-self link", () => {
    expect(threadIdOf("4242/task/4250")).toBe(4250);
    expect(threadIdOf("4242")).toBeUndefined();
    expect(threadIdOf("self/task/x")).toBeUndefined();
  });

  it("nice 0 leaves the thread alone", () => {
    expect(niceThisThread(0)).toBeUndefined();
  });

  it.runIf(process.platform === "linux")(
    "with a second opinion, only the n-gram decoder's thread is niced, not the grammar one's or the process",
    async () => {
      const before = niceOf(process.pid);
      const stt = await createPocketsphinxStt({ secondOpinion: secondOpinionGrammar(), ngramNice: 7 });
      try {
        const r = stt.ngramNice;
        expect(r).toMatchObject({ ok: true, nice: 7 });
        if (!r?.ok) return;
        expect(niceOf(r.tid)).toBe(7);
        expect(niceOf(process.pid)).toBe(before);
        expect(
          readdirSync("/proc/self/task")
            .map(Number)
            .filter((t) => t !== r.tid && niceOf(t) === 7),
        ).toEqual([]);
      } finally {
        await stt.close();
      }
    },
  );

  it("without a second opinion the n-gram thread decodes the checks too, so it keeps its priority", async () => {
    const stt = await createPocketsphinxStt({ ngramNice: 7 });
    try {
      expect(stt.ngramNice).toBeUndefined();
    } finally {
      await stt.close();
    }
  });
});
