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
 * On failure throws one ConfigError naming the first bad variable, what is wrong, and an example
 * (taken from the schema's `.describe("e.g. …")` when present).
 */
export function parseConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  // Empty strings mean "unset": compose passes `FOO=` for blank .env entries.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const r = schema.safeParse(cleaned);
  if (r.success) return Object.freeze(r.data);
  const issue = r.error.issues[0]!;
  const variable = String(issue.path[0] ?? "?");
  const field = schema.shape[variable] as z.ZodTypeAny | undefined;
  const example = field?.description ? ` (${field.description})` : "";
  const got = cleaned[variable] === undefined ? "unset" : "invalid";
  throw new ConfigError(`config: ${variable} is ${got}: ${issue.message}${example}`, variable);
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
