/**
 * What the page tells a person when the gateway refuses a call: plain sentences, with where to look,
 * instead of a status code and a JSON body.
 */
export function explainRefusal(status: number, body: string): string {
  let error = body.trim();
  try {
    const j = JSON.parse(body) as { error?: string; reason?: string };
    error = j.reason && j.reason !== "not-configured" ? j.reason : (j.error ?? error);
  } catch {
    /* not JSON: the text itself */
  }
  if (status === 401)
    return "The API token was not accepted. Use the stack's API_TOKEN: `npm run dev` prints this page's address with it (…/phone#token=…); with Docker it is API_TOKEN in .env.";
  if (status === 429)
    return "Too many calls are in progress right now (MAX_CONCURRENT_CALLS). End one, or try again in a moment.";
  if (status === 503) return `The voice service is not ready: ${error || "try again in a moment"}.`;
  return `The call could not start (HTTP ${status})${error ? `: ${error}` : ""}.`;
}
