import { z } from "zod";

/** Thrown by `parseConfig`; its message is the one line an operator needs. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    message: string,
    readonly variable: string,
  ) {
    super(message);
  }
}

/**
 * Parse `env` with a zod object whose keys are the environment variable names.
 * On failure throws one ConfigError with one line per bad variable — every one of them, so a fix is one
 * round, not one per variable — naming it, what is wrong, and an example (from the schema's
 * `.describe("e.g. …")` when present). `variable` is the first.
 */
export function parseConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  // Empty strings mean "unset": compose passes `FOO=` for blank .env entries.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const r = schema.safeParse(cleaned);
  if (r.success) return Object.freeze(r.data);
  const lines = new Map<string, string>();
  for (const issue of r.error.issues) {
    const variable = String(issue.path[0] ?? "?");
    if (lines.has(variable)) continue;
    const field = schema.shape[variable] as z.ZodTypeAny | undefined;
    const example = field?.description ? ` (${field.description})` : "";
    const got = cleaned[variable] === undefined ? "unset" : "invalid";
    lines.set(variable, `config: ${variable} is ${got}: ${issue.message}${example}`);
  }
  throw new ConfigError([...lines.values()].join("\n"), [...lines.keys()][0]!);
}

/** Parse or exit(1) with one line on stderr: for `main.ts` only. */
export function loadConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + "\n");
      process.exit(1);
    }
    throw err;
  }
}
