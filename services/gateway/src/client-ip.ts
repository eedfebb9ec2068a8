import { isIP } from "node:net";

/** `::ffff:10.0.0.1` → `10.0.0.1`; other addresses unchanged. */
export function normalizeIp(addr: string | undefined): string {
  if (!addr) return "";
  const a = addr.trim();
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  return m ? m[1]! : a.toLowerCase();
}

function v4ToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
}

/**
 * Build a matcher for TRUSTED_PROXIES entries: exact IPs (v4/v6, `::ffff:` forms normalised) and IPv4
 * CIDRs. Express calls it for `trust proxy`, so `req.ip` is the client only when the peer is trusted.
 */
export function proxyMatcher(entries: readonly string[]): (addr: string) => boolean {
  const exact = new Set<string>();
  const cidrs: { base: number; mask: number }[] = [];
  for (const e of entries) {
    const [ip, bits] = e.split("/");
    const n = normalizeIp(ip);
    if (bits === undefined) {
      if (!isIP(n)) throw new Error(`TRUSTED_PROXIES: not an IP: ${e}`);
      exact.add(n);
    } else {
      if (isIP(n) !== 4 || !/^\d{1,2}$/.test(bits) || Number(bits) > 32)
        throw new Error(`TRUSTED_PROXIES: only IPv4 CIDRs are supported: ${e}`);
      const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
      cidrs.push({ base: (v4ToInt(n) & mask) >>> 0, mask });
    }
  }
  return (addr: string) => {
    const n = normalizeIp(addr);
    if (exact.has(n)) return true;
    if (isIP(n) !== 4) return false;
    const v = v4ToInt(n);
    return cidrs.some((c) => (v & c.mask) >>> 0 === c.base);
  };
}
