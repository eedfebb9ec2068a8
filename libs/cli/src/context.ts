import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { connectBus, type Bus } from "@voicecall/bus";
import { createLogger, type Logger } from "@voicecall/log";
import { CallStore, connectRedis } from "@voicecall/store";
import { ApiClient } from "./api";
import type { CliConfig } from "./config";

/** What a command gets: config, output sinks, lazily opened connections, and an abort signal (Ctrl-C). */
export class Ctx {
  readonly api: ApiClient;
  readonly log: Logger;
  private redis?: Redis;
  private storeP?: CallStore;
  private busP?: Promise<Bus>;
  /** `--ca` of this run; wins over CADDY_CA. */
  caFile?: string;
  private caP?: { file: string; pem: Buffer };

  constructor(
    readonly config: CliConfig,
    readonly out: (line: string) => void,
    readonly err: (line: string) => void,
    readonly signal: AbortSignal,
  ) {
    this.api = new ApiClient(config, () => this.ca());
    this.log = createLogger({
      service: "cli",
      level: "warn",
      destination: { write: (s: string) => void err(s.trimEnd()) } as never,
    });
  }

  /**
   * The extra CA to trust (`--ca`, else CADDY_CA) for every https/wss connection, or undefined (system
   * CAs only). A file that cannot be read is an error naming where the path came from.
   */
  ca(): Buffer | undefined {
    const file = this.caFile ?? this.config.CADDY_CA;
    if (!file) return undefined;
    if (this.caP?.file !== file) {
      try {
        this.caP = { file, pem: readFileSync(file) };
      } catch (err) {
        throw new Error(
          `${this.caFile ? "--ca" : "CADDY_CA"} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    }
    return this.caP.pem;
  }

  fail(message: string): number {
    this.err(message);
    return 2;
  }

  async store(): Promise<CallStore> {
    if (!this.storeP) {
      this.redis = connectRedis(this.config, this.log, "voicecall-cli");
      this.storeP = new CallStore(this.redis);
    }
    return this.storeP;
  }

  bus(): Promise<Bus> {
    this.busP ??= connectBus({
      url: this.config.NATS_URL,
      name: "voicecall-cli",
      log: this.log,
      waitOnFirstConnect: false,
    });
    return this.busP;
  }

  /**
   * Accept a callId, a Twilio CallSid, or the start of a callId (the 12 characters `tail` prints).
   * A prefix that matches several calls is an error listing them.
   */
  async resolveCallId(id: string): Promise<string | null> {
    const store = await this.store();
    if (/^CA[0-9a-f]{32}$/i.test(id)) return store.callIdBySid(id);
    if (await store.getCall(id)) return id;
    const matches = id.length >= 6 ? await store.callIdsByPrefix(id) : [];
    if (matches.length > 1)
      throw new Error(`${id} is the start of ${matches.length} calls: ${matches.join(", ")}; give more of the id`);
    return matches[0] ?? id;
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
    if (this.busP) await (await this.busP.catch(() => undefined))?.drain().catch(() => undefined);
  }
}
