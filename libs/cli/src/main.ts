import { ConfigError } from "@voicecall/config";
import { cliConfig } from "./config";
import { Ctx } from "./context";
import { runCli } from "./run";

const ac = new AbortController();
process.on("SIGINT", () => ac.abort());
process.on("SIGTERM", () => ac.abort());

try {
  const ctx = new Ctx(
    cliConfig(process.env),
    (l) => process.stdout.write(l + "\n"),
    (l) => process.stderr.write(l + "\n"),
    ac.signal,
  );
  const code = await runCli(ctx, process.argv.slice(2)).finally(() => ctx.close());
  process.exit(code);
} catch (err) {
  process.stderr.write((err instanceof ConfigError ? err.message : `voicecall: ${(err as Error).message}`) + "\n");
  process.exit(err instanceof ConfigError ? 2 : 1);
}
