/** Where the limit server finds its pre-rendered audio, and where it publishes its events. */
export const LIMIT_KEYS = {
  greeting: "bench:limit:greeting",
  reply: "bench:limit:reply",
  used: (id: string) => `bench:limit:used:${id}`,
};
export const limitSubject = (callId: string) => `bench.limit.${callId}.evt`;
