export { CallStore, type TransitionResult, type StoreOptions } from "./call-store";
export { connectRedis } from "./redis";
