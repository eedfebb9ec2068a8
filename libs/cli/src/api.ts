import type { CliConfig } from "./config";

/** The gateway's call-control API, as the CLI uses it. */
export class ApiClient {
  constructor(private readonly c: CliConfig) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    if (!this.c.API_TOKEN) throw new Error("API_TOKEN is unset: the gateway API needs it (see .env)");
    const res = await fetch(this.c.API_URL + path, {
      method,
      headers: { authorization: `Bearer ${this.c.API_TOKEN}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }
}
