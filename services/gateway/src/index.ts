export { createApp, type Gateway, type GatewayDeps } from "./app";
export { GatewayConfigSchema, parseGatewayConfig, normalizeE164, type GatewayConfig } from "./config";
export { createTwilioCalls, type TwilioCalls } from "./twilio-calls";
export { defaultTuning, type GatewayTuning } from "./context";
