export { Bus, connectBus, headerRecord, type BusOptions } from "./bus";
