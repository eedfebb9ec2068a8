export * from "./common";
export * from "./subjects";
export * from "./events";
export * from "./audio";
export * from "./records";
export * from "./keys";
export * from "./webhook-events";
export * from "./call-tools";
