import type { Simulator } from "@voicecall/twilio-sim";
import type { Stack } from "@voicecall/testkit";

/** The stream tokens the gateway handed out in its TwiML answers (`<Parameter name="token" value="…"/>`). */
export function handedOutTokens(sim: Simulator): string[] {
  const out = new Set<string>();
  for (const r of sim.requests) {
    for (const m of r.body.matchAll(/<Parameter\s+name="token"\s+value="([^"]+)"/g))
      out.add(m[1]!.replace(/&amp;/g, "&"));
  }
  return [...out];
}

/**
 * Every configured secret (and every stream token handed out) that appears in some service's captured
 * output: `[]` when the logs are clean. The account SID is an identifier, not a secret, and is not checked.
 */
export function leakedSecrets(stack: Stack, sim: Simulator): { instance: string; secret: string }[] {
  const s = stack.secrets;
  const secrets: Record<string, string> = {
    TWILIO_AUTH_TOKEN: s.TWILIO_AUTH_TOKEN,
    API_TOKEN: s.API_TOKEN,
    STREAM_TOKEN_SECRET: s.STREAM_TOKEN_SECRET,
  };
  handedOutTokens(sim).forEach((t, i) => {
    secrets[`stream token #${i}`] = t;
    // The MAC part alone is as good as the token for a forger: it must not show up either.
    const mac = t.split(".").pop();
    if (mac && mac.length >= 32) secrets[`stream token #${i} (MAC)`] = mac;
  });
  const leaks: { instance: string; secret: string }[] = [];
  for (const h of stack.all()) {
    const logs = h.logs();
    for (const [name, value] of Object.entries(secrets))
      if (value && logs.includes(value)) leaks.push({ instance: h.instance, secret: name });
  }
  return leaks;
}
