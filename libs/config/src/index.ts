export { ConfigError, parseConfig, loadConfig } from "./load";
export * as fields from "./fields";
export { commonFields } from "./fields";
