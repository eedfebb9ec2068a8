import { readFileSync } from "node:fs";
import { build } from "esbuild";

const pageDir = new URL("./page/", import.meta.url);

/** The page's HTML, read once. */
export const phoneHtml = (): string => readFileSync(new URL("index.html", pageDir), "utf8");

let bundled: Promise<string> | undefined;

/**
 * The page's script, bundled from TypeScript on first request with esbuild (already a dependency
 * through tsx): no build step, nothing fetched at run time.
 */
export function phoneScript(): Promise<string> {
  bundled ??= build({
    entryPoints: [new URL("main.ts", pageDir).pathname],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2020",
    minify: true,
    logLevel: "silent",
  }).then(
    (r) => r.outputFiles[0]!.text,
    (err: unknown) => {
      bundled = undefined; // try again on the next request
      throw err;
    },
  );
  return bundled;
}
