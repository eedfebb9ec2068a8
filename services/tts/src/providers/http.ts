import { errorReason, isSecretKey, safeError, vendorMessage } from "@voicecall/log";
import { ProviderError, isAbort, statusError } from "@voicecall/runtime";

/** The credentials among request headers, without their scheme (`Bearer sk-…` → `sk-…`): vendors echo them. */
const credentials = (headers: Record<string, string>) =>
  Object.entries(headers).flatMap(([k, v]) => (isSecretKey(k) ? [v.replace(/^(Bearer|Token|Basic)\s+/i, "")] : []));

/**
 * POST JSON to a vendor and stream the response body, for the HTTP adapters.
 * Non-2xx → `statusError` (4xx final except 408/429); a JSON or text body where audio was asked for → `bad-output`;
 * connection failures → retryable `network`. Aborting `signal` cancels the request at once. Errors carry
 * the vendor's message and codes only (`vendorMessage`, `safeError`), never the request or its key.
 */
export async function* postForAudio(
  provider: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new ProviderError(`${provider} unreachable: ${errorReason(err)}`, true, {
      kind: "network",
      cause: safeError(err),
    });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    throw statusError(provider, res.status, vendorMessage(text, credentials(headers)));
  }
  const type = res.headers.get("content-type") ?? "";
  if (/^(application\/json|text\/)/i.test(type)) {
    const text = await res.text().catch(() => "");
    throw new ProviderError(
      `${provider} sent ${type} instead of audio: ${vendorMessage(text, credentials(headers))}`,
      false,
      { kind: "bad-output" },
    );
  }
  if (!res.body) throw new ProviderError(`${provider} sent no body`, false, { kind: "bad-output" });
  const reader = res.body.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        if (isAbort(err) || signal.aborted) throw err;
        throw new ProviderError(`${provider} stream broke: ${errorReason(err)}`, true, {
          kind: "network",
          cause: safeError(err),
        });
      }
      if (r.done) return;
      if (r.value.length > 0) yield r.value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
