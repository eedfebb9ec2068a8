import type { Logger } from "@voicecall/log";
import type { Emit } from "../stream-events";

/**
 * The vendor failing: one reconnect per stream (none for a final refusal, e.g. a bad key, and none while
 * the call is already ending); after that the caller gets the local voice's apology. Logged and
 * published (`realtime.error`) with the vendor's code; the code and message are already free of the key.
 */
export class ReconnectPolicy {
  private reconnects = 0;

  constructor(
    private readonly label: string,
    private readonly log: Logger,
    private readonly emit: Emit,
  ) {}

  get count(): number {
    return this.reconnects;
  }

  decide(code: string, message: string, retryable: boolean, ending: boolean): "reconnect" | "apologise" | "stop" {
    if (ending) {
      this.log.warn({ code }, "realtime session lost while the call is ending");
      return "stop";
    }
    if (this.reconnects < 1 && retryable) {
      this.reconnects++;
      this.log.warn({ code, message, model: this.label }, "realtime model failed, reconnecting once");
      this.emit({ type: "realtime.error", code, message, action: "reconnect" });
      return "reconnect";
    }
    this.log.error({ code, message, model: this.label }, "realtime model unavailable, apologising and hanging up");
    this.emit({ type: "realtime.error", code, message, action: "apology" });
    return "apologise";
  }
}
