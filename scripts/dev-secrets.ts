/**
 * Where `npm run dev` gets its secrets: the environment, else `.env` (what scripts/init-env.sh wrote, so
 * the token it printed works here too), else generated for the run — and one line saying which.
 */
import { existsSync, readFileSync } from "node:fs";

export const DEV_SECRET_VARS = [
  "API_TOKEN",
  "STREAM_TOKEN_SECRET",
  "TWILIO_ACCOUNT_SID",
  "TWILIO_AUTH_TOKEN",
  "TWILIO_FROM_NUMBER",
] as const;
type SecretVar = (typeof DEV_SECRET_VARS)[number];

/** `KEY=value` lines of a dotenv file (surrounding quotes stripped, comments and blank values skipped); {} when absent. */
export function readDotEnv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const l of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(l);
    if (m && m[2]!.trim() !== "") out[m[1]!] = m[2]!.trim().replace(/^(["'])(.*)\1$/, "$2");
  }
  return out;
}

export function devSecrets(
  env: Record<string, string | undefined>,
  dotenv: Record<string, string>,
): { given: Partial<Record<SecretVar, string>>; line: string } {
  const given: Partial<Record<SecretVar, string>> = {};
  const source: Partial<Record<SecretVar, "environment" | ".env">> = {};
  for (const k of DEV_SECRET_VARS) {
    if (env[k]) [given[k], source[k]] = [env[k], "environment"];
    else if (dotenv[k]) [given[k], source[k]] = [dotenv[k], ".env"];
  }
  const from = (where: "environment" | ".env") => DEV_SECRET_VARS.filter((k) => source[k] === where);
  const generated = DEV_SECRET_VARS.filter((k) => !source[k] && k !== "TWILIO_FROM_NUMBER");
  const line = [
    from("environment").length ? `from the environment: ${from("environment").join(", ")}` : "",
    from(".env").length ? `from .env: ${from(".env").join(", ")}` : "",
    generated.length ? `generated for this run: ${generated.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
  return { given, line };
}
