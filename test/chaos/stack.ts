import { startVoiceStack, type VoiceStack, type VoiceStackOptions } from "@voicecall/testkit";

/**
 * `startVoiceStack`, tried up to three times: `freePort` hands out a port that another test file
 * running in parallel may take before our service binds it (EADDRINUSE), which is not what this
 * suite is about.
 */
export async function startChaosStack(o: VoiceStackOptions): Promise<VoiceStack> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startVoiceStack(o);
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String((err as Error).message))) throw err;
      process.stderr.write(`chaos: stack start hit EADDRINUSE (attempt ${attempt}), retrying\n`);
    }
  }
}
