import { TtsError, isAbort } from "./errors";

/**
 * POST JSON to a vendor and stream the response body, for the HTTP adapters.
 * Non-2xx → `TtsError.fromStatus`; a JSON or text body where audio was asked for → `bad-audio`;
 * connection failures → retryable `network`. Aborting `signal` cancels the request at once.
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
    res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new TtsError(`${provider} unreachable: ${(err as Error).message}`, "network", true, undefined, { cause: err });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    throw TtsError.fromStatus(provider, res.status, text);
  }
  const type = res.headers.get("content-type") ?? "";
  if (/^(application\/json|text\/)/i.test(type)) {
    const text = await res.text().catch(() => "");
    throw new TtsError(`${provider} sent ${type} instead of audio: ${text.slice(0, 200)}`, "bad-audio", false);
  }
  if (!res.body) throw new TtsError(`${provider} sent no body`, "bad-audio", false);
  const reader = res.body.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        if (isAbort(err) || signal.aborted) throw err;
        throw new TtsError(`${provider} stream broke: ${(err as Error).message}`, "network", true, undefined, { cause: err });
      }
      if (r.done) return;
      if (r.value.length > 0) yield r.value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
