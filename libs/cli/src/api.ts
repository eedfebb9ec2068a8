import { request as httpsRequest } from "node:https";
import type { CliConfig } from "./config";

/** A non-2xx answer of the gateway's API: its status and JSON body (when it was JSON). */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown> | undefined,
  ) {
    super(message);
  }
}

const jsonOf = (text: string): Record<string, unknown> | undefined => {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** The gateway's call-control API, as the CLI uses it (over https with the trusted CA when API_URL is https). */
export class ApiClient {
  constructor(
    private readonly c: CliConfig,
    private readonly ca: () => Buffer | undefined = () => undefined,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.c.API_TOKEN) throw new Error("API_TOKEN is unset: the gateway API needs it (see .env)");
    const headers = {
      authorization: `Bearer ${this.c.API_TOKEN}`,
      ...(body ? { "content-type": "application/json" } : {}),
    };
    const payload = body ? JSON.stringify(body) : undefined;
    const url = this.c.API_URL + path;
    const { status, text } = url.startsWith("https:")
      ? await this.https(url, method, headers, payload)
      : await this.http(url, method, headers, payload);
    if (status < 200 || status >= 300)
      throw new ApiError(`${method} ${path} → ${status}: ${text.slice(0, 500)}`, status, jsonOf(text));
    return (text ? JSON.parse(text) : {}) as T;
  }

  private async http(url: string, method: string, headers: Record<string, string>, body?: string) {
    const res = await fetch(url, { method, headers, body });
    return { status: res.status, text: await res.text() };
  }

  private https(
    url: string,
    method: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method, headers, ca: this.ca() }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }
}
