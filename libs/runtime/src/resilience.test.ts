import { describe, expect, it } from "vitest";
import { ProviderError, backoffMs, resilientStream, retryableStatus, type StreamPolicy } from "./resilience";

const policy: StreamPolicy = { firstChunkTimeoutMs: 100, idleTimeoutMs: 100, retries: 2, backoffMs: 1 };

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A provider scripted per attempt: each entry is the chunks it yields, then what it does. */
function scripted(attempts: { chunks: string[]; then: "end" | Error | "hang" }[]) {
  let n = 0;
  const open = (signal: AbortSignal) =>
    (async function* () {
      const a = attempts[Math.min(n++, attempts.length - 1)]!;
      for (const c of a.chunks) yield c;
      if (a.then === "hang")
        await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
      else if (a.then !== "end") throw a.then;
    })();
  return { open, attempts: () => n };
}

describe("provider resilience", () => {
  it("4xx is final except 408 and 429; 5xx is retryable", () => {
    expect([400, 401, 403, 404, 408, 422, 429, 500, 503].map(retryableStatus)).toEqual([
      false,
      false,
      false,
      false,
      true,
      false,
      true,
      true,
      true,
    ]);
    expect([0, 1, 2, 10].map((a) => backoffMs(a, 100))).toEqual([100, 200, 400, 2000]);
  });

  it("retries a retryable failure before the first chunk, then streams", async () => {
    const p = scripted([
      { chunks: [], then: new ProviderError("503", true) },
      { chunks: ["a", "b"], then: "end" },
    ]);
    const retried: string[] = [];
    const out = await collect(
      resilientStream(p.open, policy, {
        signal: new AbortController().signal,
        label: "x",
        onRetry: (_, e) => retried.push(e.message),
      }),
    );
    expect(out).toEqual(["a", "b"]);
    expect(p.attempts()).toBe(2);
    expect(retried).toEqual(["503"]);
  });

  it("does not retry a final error, nor any error after the first chunk", async () => {
    const final = scripted([{ chunks: [], then: new ProviderError("401", false, { status: 401 }) }]);
    await expect(
      collect(resilientStream(final.open, policy, { signal: new AbortController().signal, label: "x" })),
    ).rejects.toMatchObject({ status: 401, retryable: false });
    expect(final.attempts()).toBe(1);
    const mid = scripted([{ chunks: ["a"], then: new ProviderError("reset", true) }]);
    const got: string[] = [];
    const run = async () => {
      for await (const c of resilientStream(mid.open, policy, { signal: new AbortController().signal, label: "x" }))
        got.push(c);
    };
    await expect(run()).rejects.toThrow("reset");
    expect(got).toEqual(["a"]);
    expect(mid.attempts()).toBe(1);
  });

  it("times out a silent provider (retrying first) and a stall after the first chunk (final); an unknown error is final", async () => {
    const silent = scripted([{ chunks: [], then: "hang" }]);
    await expect(
      collect(resilientStream(silent.open, policy, { signal: new AbortController().signal, label: "x" })),
    ).rejects.toMatchObject({ kind: "timeout", retryable: true });
    expect(silent.attempts()).toBe(3);
    const stall = scripted([{ chunks: ["a"], then: "hang" }]);
    await expect(
      collect(resilientStream(stall.open, policy, { signal: new AbortController().signal, label: "x" })),
    ).rejects.toThrow(/timeout/);
    expect(stall.attempts()).toBe(1);
    const odd = scripted([{ chunks: [], then: new TypeError("boom") }]);
    await expect(
      collect(resilientStream(odd.open, policy, { signal: new AbortController().signal, label: "x" })),
    ).rejects.toMatchObject({ name: "ProviderError", retryable: false, cause: expect.any(TypeError) });
    expect(odd.attempts()).toBe(1);
  });

  it("the caller's abort is an AbortError, not a provider failure, and is not retried", async () => {
    const ac = new AbortController();
    const p = scripted([{ chunks: [], then: "hang" }]);
    setTimeout(() => ac.abort(), 20);
    await expect(collect(resilientStream(p.open, policy, { signal: ac.signal, label: "x" }))).rejects.toMatchObject({
      name: "AbortError",
    });
    expect(p.attempts()).toBe(1);
  });
});
