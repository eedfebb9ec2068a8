/** The vendor stand-ins' thread (bench/vendor-worker.ts), from the main side. */
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { DRIVER_NICE } from "./driver-pool";
import type { VendorInit, VendorRequest, VendorUrls } from "./vendor-worker";

const BOOT = new URL("./driver-boot.mjs", import.meta.url);
const ENTRY = new URL("./vendor-worker.ts", import.meta.url).href;

export interface Vendors extends VendorUrls {
  /** The vendor thread's event-loop lag p99 since the last call (ms). */
  lagP99Ms(): Promise<number>;
  close(): Promise<void>;
}

export async function startVendors(o: Omit<VendorInit, "nice">): Promise<Vendors> {
  const wk = new Worker(BOOT, { workerData: { ...o, entry: ENTRY, nice: DRIVER_NICE } });
  const [urls] = (await Promise.race([once(wk, "message"), once(wk, "error").then(([e]) => Promise.reject(e))])) as [
    VendorUrls,
  ];
  const ask = async (m: VendorRequest) => {
    wk.postMessage(m);
    return (await once(wk, "message"))[0] as unknown;
  };
  return {
    ...urls,
    lagP99Ms: async () => ((await ask("lag")) as { lagP99Ms: number }).lagP99Ms,
    close: async () => {
      await ask("stop").catch(() => undefined);
      await wk.terminate().catch(() => undefined);
    },
  };
}
