import { createServer } from "node:net";
import { freePort } from "@voicecall/testkit";

/** `port` when nothing listens on it on loopback, else a free one. */
export async function portOr(port: number): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
  return free ? port : freePort();
}

/**
 * The ports `npm run dev` takes: each default when it is free, else another (`random`: always another).
 * Every replacement is one warning line, since the documented ports (redis-cli on 6379, …) then miss.
 */
export function portPicker(random: boolean) {
  const warnings: string[] = [];
  return {
    warnings,
    async pick(port: number, what: string): Promise<number> {
      if (random) return freePort();
      const got = await portOr(port);
      if (got !== port)
        warnings.push(
          `warning: ${what} port ${port} is taken: using ${got} (the URLs printed below, and tmp/dev/cli.env, have the real ports)`,
        );
      return got;
    },
  };
}
