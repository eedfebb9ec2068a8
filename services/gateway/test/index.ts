/** `@voicecall/gateway/testing`: the gateway in-process with real NATS + Redis, for other packages' tests and benchmarks. */
export * from "./harness";
