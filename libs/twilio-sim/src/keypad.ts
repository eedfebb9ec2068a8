import { sleep } from "./sleep";

/** DTMF the caller pressed, consumed by `<Gather>` the way Twilio collects digits. */
export class Keypad {
  private digits: string[] = [];
  private waiters: (() => void)[] = [];

  press(digit: string): void {
    this.digits.push(digit);
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * `<Gather>` input: stops at `finishOnKey` (not included), at `numDigits`, or after `timeoutMs`
   * without a new key (Twilio's inter-digit timeout). Digits pressed before the Gather started are dropped.
   */
  async collect(
    numDigits: number | undefined,
    finishOnKey: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ digits: string; finishedOnKey?: string }> {
    this.digits = [];
    let got = "";
    for (;;) {
      while (this.digits.length) {
        const d = this.digits.shift()!;
        if (finishOnKey && d === finishOnKey) return { digits: got, finishedOnKey: d };
        got += d;
        if (numDigits && got.length >= numDigits) return { digits: got };
      }
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(() => ac.abort());
      await sleep(timeoutMs, ac.signal);
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted || !this.digits.length) return { digits: got };
    }
  }
}
