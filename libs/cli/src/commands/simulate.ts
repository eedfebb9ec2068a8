import type { Ctx } from "../context";

/** Placeholder wired once the simulator lib lands. */
export async function simulateCommand(ctx: Ctx, _args: string[], _flags: Record<string, string | boolean>): Promise<number> {
  return ctx.fail("simulate: not available yet");
}
