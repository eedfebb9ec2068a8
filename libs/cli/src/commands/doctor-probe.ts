import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { connect as tlsConnect, rootCertificates, type PeerCertificate } from "node:tls";
import { WebSocket } from "ws";

/**
 * How doctor reaches the public origin. Outside the stack that is the public name itself. Inside the
 * compose network the name can lead elsewhere (`localhost` is the container itself), so `via`
 * (PUBLIC_URL_VIA, e.g. `caddy:443`) says where to connect; TLS name and Host stay the public ones.
 */
export interface Reach {
  via?: { host: string; port: number };
  /** Extra CA (PEM) on top of the public roots (`--ca`). */
  ca?: Buffer;
  /** Set once the TLS check has reported Caddy's local CA: later probes then accept that certificate. */
  acceptLocalCa?: boolean;
}

export interface HttpResult {
  status: number;
  type: string;
  body: string;
}

export function parseVia(v: string | undefined): Reach["via"] {
  if (!v) return undefined;
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(v);
  if (!m) throw new Error(`PUBLIC_URL_VIA: expected host:port, got ${v}`);
  return { host: m[1]!, port: Number(m[2]) };
}

// Node's `ca` replaces the trust store; keep the public roots next to the extra CA.
const caList = (r: Reach) => (r.ca ? [...rootCertificates, r.ca.toString()] : undefined);

function tlsOptions(u: URL, r: Reach) {
  return {
    ca: caList(r),
    servername: u.hostname,
    rejectUnauthorized: !r.acceptLocalCa,
    ...(r.via ? { hostname: r.via.host, port: r.via.port } : {}),
  };
}

export const isCaddyLocal = (cert: PeerCertificate | undefined) =>
  /Caddy Local Authority/.test(String(cert?.issuer?.CN ?? ""));

/** TLS handshake with the public origin: whether its certificate is trusted here, and who issued it. */
export function tlsProbe(
  pub: URL,
  r: Reach,
): Promise<{ authorized: boolean; error?: string; issuer?: string; caddyLocal: boolean }> {
  const host = r.via?.host ?? pub.hostname;
  const port = r.via?.port ?? Number(pub.port || 443);
  return new Promise((resolve, reject) => {
    const s = tlsConnect(
      { host, port, servername: pub.hostname, ca: caList(r), rejectUnauthorized: false, timeout: 10_000 },
      () => {
        const cert = s.getPeerCertificate();
        resolve({
          authorized: s.authorized,
          error: s.authorizationError ? String(s.authorizationError) : undefined,
          issuer: String(cert?.issuer?.CN ?? "unknown"),
          caddyLocal: isCaddyLocal(cert),
        });
        s.end();
      },
    );
    s.on("timeout", () => s.destroy(new Error(`timed out connecting to ${host}:${port}`)));
    s.on("error", reject);
  });
}

export function post(url: string, body: string, headers: Record<string, string>, r: Reach): Promise<HttpResult> {
  const u = new URL(url);
  const https = u.protocol === "https:";
  const req = https ? httpsRequest : httpRequest;
  // hostname, not host: with a URL argument, node's `hostname` wins over `host`
  const extra = https ? tlsOptions(u, r) : r.via ? { hostname: r.via.host, port: r.via.port } : {};
  return new Promise((resolve, reject) => {
    const q = req(
      u,
      {
        method: "POST",
        headers: {
          host: u.host,
          "content-type": "application/x-www-form-urlencoded",
          "content-length": Buffer.byteLength(body),
          ...headers,
        },
        timeout: 10_000,
        ...extra,
      },
      (res) => {
        let data = "";
        res.on("data", (d) => (data += d));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"] ?? ""), body: data }),
        );
      },
    );
    q.on("timeout", () => q.destroy(new Error("timed out after 10 s")));
    q.on("error", reject);
    q.end(body);
  });
}

export function upgrade(url: string, r: Reach): Promise<{ status: number; detail: string }> {
  const u = new URL(url);
  const dest = new URL(url);
  if (r.via) {
    dest.hostname = r.via.host;
    dest.port = String(r.via.port);
  }
  return new Promise((resolve) => {
    // ws passes TLS options through to https.request (servername: the public name, as in the TLS check)
    const ws = new WebSocket(dest, {
      ca: caList(r),
      servername: u.hostname,
      rejectUnauthorized: !r.acceptLocalCa,
      headers: { host: u.host },
      handshakeTimeout: 10_000,
    } as WebSocket.ClientOptions);
    ws.on("upgrade", (res) => resolve({ status: res.statusCode ?? 101, detail: "upgraded" }));
    ws.on("open", () => ws.close(1000, "doctor"));
    ws.on("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0, detail: `HTTP ${res.statusCode}` });
      ws.terminate();
    });
    ws.on("error", (err) => resolve({ status: 0, detail: err.message }));
  });
}
