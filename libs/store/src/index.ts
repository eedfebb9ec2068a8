export { CallStore, type TransitionResult, type StoreOptions, type RecordFields } from "./call-store";
export { connectRedis, durableWrites, type RedisSettings, type DurableWrites } from "./redis";
export { EventOutbox, type OutboxItem } from "./event-outbox";
export type { StreamAdmission, StreamAdmissionRequest } from "./stream-admission";
