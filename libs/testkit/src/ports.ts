import { createServer, connect } from "node:net";

/**
 * A free TCP port on loopback, drawn at random from 20000–32767, below Linux's ephemeral range
 * (32768–60999). Port 0 would hand out an ephemeral port, the same pool every outgoing connection of every
 * parallel test process draws its source port from; between our close and the service's bind, a client
 * socket or another file's server could take it, and a service then talks to the wrong peer or fails to
 * bind. Parallel test files could still draw the same free port before either binds it (seen: one file's
 * redis-server lost its port to another file's nats-server, and media then spoke RESP to NATS), so each
 * vitest worker draws from its own slice of the range (`VITEST_POOL_ID`), and a process never hands out
 * the same port twice.
 */
export async function freePort(): Promise<number> {
  const [lo, size] = slice();
  for (let i = 0; i < 50; i++) {
    const port = lo + Math.floor(Math.random() * size);
    if (handedOut.has(port)) continue;
    if (await bindable(port)) {
      handedOut.add(port);
      return port;
    }
  }
  return bindable(0);
}

const RANGE_LO = 20_000;
const RANGE_SIZE = 12_768;
const SLICES = 8;
const handedOut = new Set<number>();

/** This process's part of the range: one of SLICES by vitest's pool id, or the whole range outside vitest. */
function slice(): [number, number] {
  const id = Number(process.env.VITEST_POOL_ID);
  if (!Number.isInteger(id) || id < 1) return [RANGE_LO, RANGE_SIZE];
  const size = Math.floor(RANGE_SIZE / SLICES);
  return [RANGE_LO + ((id - 1) % SLICES) * size, size];
}

/** `port` if it can be bound on loopback now (0: the OS's choice), else 0. */
function bindable(port: number): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(0));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** Resolve once something accepts TCP connections on host:port, or reject after `timeoutMs`. */
export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const c = connect({ port, host }, () => {
        c.destroy();
        res(true);
      });
      c.once("error", () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ""}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
