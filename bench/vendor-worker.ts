/**
 * The vendor stand-ins (Deepgram STT, ElevenLabs TTS, an OpenAI-compatible LLM) on a thread of their own, at
 * the driver's raised priority: real vendors are other machines, so their work must neither queue behind the
 * bench's event watch nor load it. On the main thread their loop lagged 300 ms p99 at 100 calls, and the LLM
 * and TTS fakes sit on ours' reply path (not on the limit's), so that lag was counted against ours alone.
 */
import { setPriority } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { startFakeVendors } from "@voicecall/tts/testing";
import { startFakeDeepgram } from "@voicecall/media/testing";
import { startInstantLlm } from "./fakes";

export interface VendorInit {
  dgKey: string;
  /** Start the TTS and LLM fakes too (the instant scenario), speaking this text. */
  ttsText?: string;
  nice: number;
}
export interface VendorUrls {
  dgUrl: string;
  tts?: { url: string; apiKey: string };
  llmUrl?: string;
  niced: boolean;
}
export type VendorRequest = "lag" | "stop";

const w = workerData as VendorInit & { entry: string };
let niced = false;
try {
  setPriority(w.nice);
  niced = true;
} catch {
  // not permitted: the default priority, reported
}
const dg = await startFakeDeepgram({
  apiKey: w.dgKey,
  transcribe: (mu) => (mu.length > 2400 ? "what are your opening hours" : ""),
});
const vendors = w.ttsText ? await startFakeVendors(w.ttsText) : undefined;
if (vendors) vendors.fallbackMode = { kind: "ok", chunks: 8 };
const llm = w.ttsText ? await startInstantLlm() : undefined;
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
parentPort!.on("message", async (m: VendorRequest) => {
  if (m === "lag") {
    // p99 since the last read, net of the sampling timer's own 10 ms
    parentPort!.postMessage({ lagP99Ms: Math.round(Math.max(0, lag.percentile(99) / 1e6 - 10) * 10) / 10 });
    return lag.reset();
  }
  await Promise.all([dg.close(), vendors?.close(), llm?.close()].map((p) => p?.catch(() => undefined)));
  parentPort!.postMessage("stopped");
  process.exit(0);
});
parentPort!.postMessage({
  dgUrl: dg.url,
  tts: vendors && { url: vendors.url, apiKey: vendors.apiKey },
  llmUrl: llm?.url,
  niced,
} satisfies VendorUrls);
