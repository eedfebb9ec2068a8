export { runCli, usage } from "./run";
export { Ctx } from "./context";
export { cliConfig, cliSchema, type CliConfig } from "./config";
export { runChecks, type Check } from "./commands/doctor";
export { twilioClient } from "@voicecall/twilio-client";
