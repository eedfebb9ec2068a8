/**
 * Standalone Twilio simulator:
 *   tsx libs/twilio-sim/src/cli.ts --port 4010 [--account-sid AC…] [--auth-token …]
 *     [--number +15550001111=https://voice.example.com/voice/webhook] [--ca caddy-root.pem]
 * Prints one JSON line `{origin, accountSid, authToken}` on stdout, then a line per webhook on stderr.
 * Point the gateway at it with TWILIO_API_BASE_URL=<origin> and the same credentials.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startSimulator } from "./simulator";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "account-sid": { type: "string" },
    "auth-token": { type: "string" },
    number: { type: "string", multiple: true, default: [] },
    ca: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});

const numbers: Record<string, string> = {};
for (const n of values.number ?? []) {
  const i = n.indexOf("=");
  if (i < 1) throw new Error(`--number wants +E164=voiceUrl, got ${n}`);
  numbers[n.slice(0, i)] = n.slice(i + 1);
}

const sim = await startSimulator({
  port: Number(values.port),
  host: values.host,
  accountSid: values["account-sid"],
  authToken: values["auth-token"],
  ca: values.ca ? readFileSync(values.ca) : undefined,
  numbers,
  onRequest: values.quiet
    ? undefined
    : (r) =>
        process.stderr.write(`${r.kind} ${r.method} ${r.url} → ${r.status}${r.errorCode ? ` (${r.errorCode})` : ""}\n`),
});
process.stdout.write(
  JSON.stringify({ origin: sim.origin, accountSid: sim.accountSid, authToken: sim.authToken }) + "\n",
);

const stop = () => void sim.stop().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
