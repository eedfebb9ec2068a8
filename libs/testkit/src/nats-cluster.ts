import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, waitFor, waitForPort } from "./ports";
import { requireBinary, startProc, type Proc } from "./proc";

export interface NatsCluster {
  /** Client URLs of the nodes, in order: `nats://127.0.0.1:<port>`. */
  urls: string[];
  /** The list as services take it (NATS_URL): comma-separated. */
  url: string;
  /**
   * The node holding the most client connections (its /connz). Clients pick a random URL from the
   * list, so a fixed node may hold none of the services: a kill of it would test nothing.
   */
  busiest(): Promise<number>;
  /** SIGKILL node `i` and wait for it to exit. */
  kill9(i: number): Promise<void>;
  /** Start node `i` again on its ports and wait until it has routes to the others. */
  start(i: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `n` real nats-server processes clustered over loopback routes. `no_advertise` keeps the servers
 * from telling clients about each other, so a client reaches another node only through the URL list
 * it was given: the list itself is under test, not the servers' gossip.
 */
export async function startNatsCluster(dir: string, n = 3): Promise<NatsCluster> {
  requireBinary("nats-server");
  const nodes = await Promise.all(
    Array.from({ length: n }, async (_, i) => ({
      i,
      port: await freePort(),
      routePort: await freePort(),
      httpPort: await freePort(),
      proc: undefined as Proc | undefined,
    })),
  );
  const conf = (i: number) => {
    const me = nodes[i]!;
    const routes = nodes.filter((o) => o.i !== i).map((o) => `nats-route://127.0.0.1:${o.routePort}`);
    const file = join(dir, `nats-${i}.conf`);
    writeFileSync(
      file,
      `server_name: n${i}\nlisten: 127.0.0.1:${me.port}\nhttp: 127.0.0.1:${me.httpPort}\n` +
        `cluster {\n  name: vc\n  listen: 127.0.0.1:${me.routePort}\n  no_advertise: true\n  routes: [${routes.join(", ")}]\n}\n`,
    );
    return file;
  };
  const routed = async (i: number, want: number) => {
    const r = await fetch(`http://127.0.0.1:${nodes[i]!.httpPort}/routez`).catch(() => undefined);
    return r?.ok && ((await r.json()) as { num_routes: number }).num_routes >= want;
  };
  const start = async (i: number) => {
    const node = nodes[i]!;
    node.proc = startProc("nats-server", ["-c", conf(i)]);
    await waitForPort(node.port).catch((e: Error) => {
      throw new Error(`${e.message}\n${node.proc!.output()}`);
    });
    const alive = nodes.filter(
      (o) => o.proc && o.proc.child.exitCode === null && o.proc.child.signalCode === null,
    ).length;
    await waitFor(() => routed(i, alive - 1), `nats node ${i} routed to ${alive - 1} others`, 15_000, 50);
  };
  const stopAll = async () => {
    await Promise.all(nodes.map((o) => o.proc?.stop()));
  };
  try {
    // All at once: each node's routes point at the others, which retry until they come up.
    await Promise.all(nodes.map((o) => (o.proc = startProc("nats-server", ["-c", conf(o.i)]))));
    for (const o of nodes) await waitForPort(o.port);
    for (const o of nodes) await waitFor(() => routed(o.i, n - 1), `nats node ${o.i} routed to all`, 15_000, 50);
  } catch (err) {
    const out = nodes.map((o) => `--- n${o.i}\n${o.proc?.output().slice(-1500) ?? ""}`).join("\n");
    await stopAll();
    throw new Error(`nats cluster did not form: ${(err as Error).message}\n${out}`);
  }
  const urls = nodes.map((o) => `nats://127.0.0.1:${o.port}`);
  return {
    urls,
    url: urls.join(","),
    async busiest() {
      const counts = await Promise.all(
        nodes.map(async (o) => {
          const r = await fetch(`http://127.0.0.1:${o.httpPort}/connz`).catch(() => undefined);
          return r?.ok ? ((await r.json()) as { num_connections: number }).num_connections : -1;
        }),
      );
      return counts.indexOf(Math.max(...counts));
    },
    async kill9(i) {
      const p = nodes[i]!.proc;
      if (!p) return;
      p.kill9();
      await p.exited;
    },
    start,
    stop: stopAll,
  };
}
