import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export type VerifyEvent = (
  secret: string,
  header: unknown,
  raw: string,
  toleranceSec?: number,
  nowSec?: number,
) => boolean;

/**
 * `verifyVoicecallEvent` exactly as README.md shows it (between the verify-example markers), loaded
 * as its own module: the tests check signatures with the documented code, not a copy of it.
 */
export async function readmeEventVerifier(
  readmePath = new URL("../../../README.md", import.meta.url),
): Promise<VerifyEvent> {
  const readme = readFileSync(readmePath, "utf8");
  const m = /<!-- verify-example:begin -->\s*```js\n([\s\S]*?)```\s*<!-- verify-example:end -->/.exec(readme);
  if (!m) throw new Error("README.md has no verify-example block");
  const file = join(mkdtempSync(join(tmpdir(), "vc-verify-")), "verify.mjs");
  writeFileSync(file, m[1]!);
  return (await import(pathToFileURL(file).href)).verifyVoicecallEvent as VerifyEvent;
}

/** One request the receiver got, as it arrived on the wire. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingMessage["headers"];
  /** The raw body (what the signature covers). */
  raw: string;
  json: { id: string; type: string; callId: string; ts: number; data: Record<string, any> };
  /** What the receiver answered (`hang` = never answered). */
  answered: number | "hang";
  at: number;
}

/** How to answer one request: a status code, or `hang` (hold it open until the receiver stops). */
export type Answer = number | "hang";

/**
 * A real HTTP receiver of call events on loopback, for tests: records every request, answers from a
 * script (`answer`, default 204), and can go down and come back on the same port.
 */
export class EventReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Decides each answer; replace it to script failures. */
  answer: (r: Omit<ReceivedRequest, "answered" | "at">, n: number) => Answer = () => 204;
  private server?: Server;
  private held: ServerResponse[] = [];
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/voicecall`;
  }

  /** Accepted (2xx) requests, in arrival order. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((r) => typeof r.answered === "number" && r.answered >= 200 && r.answered < 300);
  }

  /** Accepted events of one call, first delivery of each id only. */
  events(callId: string): ReceivedRequest["json"][] {
    const seen = new Set<string>();
    return this.accepted()
      .map((r) => r.json)
      .filter((e) => e.callId === callId && !seen.has(e.id) && seen.add(e.id));
  }

  async start(port = this.port): Promise<this> {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const base = { path: req.url ?? "", headers: req.headers, raw, json: JSON.parse(raw) };
        const a = this.answer(base, this.requests.length);
        this.requests.push({ ...base, answered: a, at: Date.now() });
        if (a === "hang") return void this.held.push(res);
        res.writeHead(a).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = s;
    this.port = (s.address() as AddressInfo).port;
    return this;
  }

  /** Go down: refuse connections until `start()` again (same port). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const r of this.held.splice(0)) r.destroy();
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
  }
}
