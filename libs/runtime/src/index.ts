export { healthRouter, type HealthDeps } from "./health";
export { onShutdown, every, defaultInstanceId } from "./lifecycle";
