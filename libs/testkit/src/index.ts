export {
  startServers,
  testCaddyfile,
  type Servers,
  type ServerOptions,
  type CaddyRoute,
  type CaddyHandle,
} from "./servers";
export { freePort, waitForPort, waitFor } from "./ports";
export { startProc, requireBinary, type Proc } from "./proc";
export { redisServerArgs } from "./redis-args";
export { dockerAvailable } from "./containers";
export { testLogger } from "./log";
export {
  startStack,
  stackRoutes,
  generateSecrets,
  cliEnvFor,
  GATEWAY_PATHS,
  MEDIA_PATH,
  SERVICE_NAMES,
  type Stack,
  type StackOptions,
  type StackSecrets,
  type ServiceHandle,
  type ServiceName,
} from "./stack";
export { startVoiceStack, type VoiceStack, type VoiceStackOptions } from "./voice-stack";
export {
  EventReceiver,
  readmeEventVerifier,
  type ReceivedRequest,
  type Answer,
  type VerifyEvent,
} from "./event-receiver";
export { startClusterServers, type ClusterServers } from "./cluster-servers";
export { startNatsCluster, type NatsCluster } from "./nats-cluster";
export { startRedisSentinel, type RedisSentinelSet } from "./redis-sentinel";
