export interface CapacityStep { streams: number; lagP99Ms: number; cpuCores: number; rssMB: number }
export interface CapacityReport { lagLimitMs: number; maxStreamsWithinLag: number; stoppedAt: number; stopReason: string; cpuPerStreamPct: number; rssPerStreamKB: number; steps: CapacityStep[] }
export interface CapacityOptions { step: number; max: number; stepS: number; lagLimitMs: number; log: (l: string) => void }
export async function runCapacity(_o: CapacityOptions): Promise<CapacityReport> {
  throw new Error("capacity: not yet");
}
