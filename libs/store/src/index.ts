export { CallStore, type TransitionResult, type StoreOptions } from "./call-store";
export { connectRedis } from "./redis";
export { EventOutbox, type OutboxItem } from "./event-outbox";
