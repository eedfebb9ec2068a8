/**
 * redis-server on loopback as the tests run it: no RDB snapshots, an append-only file synced on every
 * write (a restart on the same dir loses nothing, which the chaos tests rely on).
 */
export const redisServerArgs = (port: number, dir: string): string[] => [
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "yes",
  "--appendfsync",
  "always",
  "--dir",
  dir,
];
