export { healthRouter, type HealthDeps } from "./health";
export { onShutdown, every, defaultInstanceId } from "./lifecycle";
export { createMetrics, metricsRouter, type Metrics } from "./metrics";
export { dependencyGate, dependencyProblem, type DependencyGateOptions } from "./dependencies";
export { launcherChain, onLauncherExit } from "./orphan";
export {
  ProviderError,
  type ProviderErrorKind,
  retryableStatus,
  statusError,
  backoffMs,
  isAbort,
  abortError,
  sleep,
  asProviderError,
  resilientStream,
  type StreamPolicy,
  type StreamOptions,
} from "./resilience";
