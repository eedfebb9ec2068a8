// Preload (NODE_OPTIONS=--import …): print every GC pause of 5 ms or more (`--trace-gc` is not allowed in NODE_OPTIONS).
import { PerformanceObserver, constants } from "node:perf_hooks";

const kinds = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries())
    if (e.duration >= 5)
      process.stderr.write(`bench-gc ${kinds[e.detail?.kind] ?? e.detail?.kind} ${e.duration.toFixed(1)} ms\n`);
}).observe({ entryTypes: ["gc"] });
