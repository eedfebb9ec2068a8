import { randomBytes } from "node:crypto";

/** A Twilio SID: two-letter prefix + 32 lowercase hex (e.g. `CA…`, `MZ…`, `AC…`, `PN…`). */
export function newSid(prefix: "CA" | "MZ" | "AC" | "PN" | "NO"): string {
  return prefix + randomBytes(16).toString("hex");
}

/** RFC 2822 date as Twilio writes it in REST JSON and call status callbacks: `Tue, 31 Aug 2010 20:36:29 +0000`. */
export function rfc2822(d: Date | number = Date.now()): string {
  const date = typeof d === "number" ? new Date(d) : d;
  // toUTCString gives "Tue, 31 Aug 2010 20:36:29 GMT"; Twilio writes the offset numerically.
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** `(555) 867-5310` for +1 numbers, the number itself otherwise (the `to_formatted` field). */
export function formatNumber(n: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(n);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : n;
}
