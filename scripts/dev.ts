/**
 * `npm run dev`: the whole stack on this machine without Docker — nats-server, redis-server and caddy from
 * PATH plus gateway, media, tts and agent as child processes — with one prefixed log stream.
 * Ctrl-C, or SIGTERM/SIGINT/SIGHUP to this process (or to the npm that started it, or npm exiting) stops
 * everything; a second signal kills at once. package.json runs it with `exec node --import tsx`: no shell
 * or tsx wrapper between npm and us to swallow the signal (tsx's relay SIGKILLs a child that keeps running).
 *
 *   npm run dev -- [--media N] [--random-ports] [--twilio-api http://127.0.0.1:4010]
 *
 * Secrets (API_TOKEN, STREAM_TOKEN_SECRET, TWILIO_*) come from the environment, else from .env (what
 * scripts/init-env.sh wrote), else are generated for the run; the summary says which.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cliEnvFor, generateSecrets, startStack, type Stack, type StackSecrets } from "@voicecall/testkit";
import { onLauncherExit } from "@voicecall/runtime";
import { root } from "./config-docs";
import { devSecrets, readDotEnv } from "./dev-secrets";
import { startDevServers, type DevServers } from "./dev-servers";
import { portPicker } from "./dev-ports";

const USAGE = `usage: npm run dev -- [--media N] [--random-ports] [--twilio-api http://127.0.0.1:4010]
  --media N          media workers behind Caddy (default 1)
  --random-ports     free random ports instead of 4222, 6379, 8443, 8088, 3000, 8080, 8081, 8082
  --twilio-api URL   send Twilio REST requests here (a simulator) instead of api.twilio.com
Secrets (API_TOKEN, STREAM_TOKEN_SECRET, TWILIO_*) come from the environment, else from .env, else are generated.
Logs go to stdout only; keep them with: mkdir -p tmp && npm run dev 2>&1 | tee tmp/dev.log`;

function cliArgs() {
  try {
    return parseArgs({
      options: {
        media: { type: "string", default: "1" },
        "random-ports": { type: "boolean", default: false },
        "twilio-api": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
}
const args = cliArgs();
if (args.help) {
  process.stdout.write(USAGE + "\n");
  process.exit(0);
}

// With `| tee` (README's way to keep the logs) Ctrl-C reaches the whole pipeline and tee goes first:
// every later line meets a closed pipe. Without this the EPIPE is thrown and dev dies mid-stop, leaving
// nats, redis, caddy and the services running; with it, the stop goes on unheard.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

const colors = [36, 35, 33, 32, 34, 31, 96, 95, 93];
const color = new Map<string, number>();
const useColor = process.stdout.isTTY;
function print(name: string, line: string): void {
  if (!color.has(name)) color.set(name, colors[color.size % colors.length]!);
  const tag = name.padEnd(8);
  process.stdout.write(`${useColor ? `\x1b[${color.get(name)}m${tag}\x1b[0m` : tag} | ${line}\n`);
}

async function main(): Promise<void> {
  const picker = portPicker(args["random-ports"] ?? false);
  const pick = picker.pick;
  const replicas = Math.max(1, Number(args.media) || 1);
  const ports = {
    nats: await pick(4222, "NATS"),
    redis: await pick(6379, "Redis"),
    https: await pick(8443, "Caddy https"),
    http: await pick(8088, "Caddy http"),
  };
  const svcPorts = {
    gateway: await pick(3000, "gateway"),
    tts: await pick(8081, "tts"),
    agent: await pick(8082, "agent"),
    media: [
      await pick(8080, "media-0"),
      ...(await Promise.all(Array.from({ length: replicas - 1 }, (_, i) => pick(8090 + i, `media-${i + 1}`)))),
    ],
  };
  for (const w of picker.warnings) print("dev", w);
  const { given, line: secretsLine } = devSecrets(process.env, readDotEnv(join(root, ".env")));
  const fromEnv = given as Partial<StackSecrets>;
  // Made-up Twilio values still sign and check webhooks (browser phone, `voicecall simulate`), but must
  // never be sent to Twilio as if they were an account: the gateway answers phone calls 503 instead.
  const twilioApi = args["twilio-api"] ?? process.env.TWILIO_API_BASE_URL;
  const twilioGenerated = !fromEnv.TWILIO_ACCOUNT_SID && !twilioApi;
  let servers: DevServers | undefined;
  let stack: Stack | undefined;
  let stopping = false;
  const stop = async (code: number, bySignal = true) => {
    if (stopping) {
      // npm going away while we stop (it dies first when its stdout, a `| tee`, is gone) is no reason to hurry.
      if (!bySignal) return;
      print("dev", "second signal: killing everything now");
      for (const h of stack?.all() ?? []) h.proc.kill9();
      for (const pid of servers?.pids() ?? []) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone already */
        }
      }
      process.exit(1);
    }
    stopping = true;
    print("dev", "stopping…");
    if (stack) await stack.stop();
    else await servers?.stop();
    print("dev", "stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  process.on("SIGHUP", () => void stop(0));
  // Started through npm with its shell in between: when npm goes, so do we (and everything below).
  onLauncherExit((why) => {
    print("dev", `${why}: stopping`);
    void stop(0, false);
  });

  stack = await startStack({
    root,
    mediaReplicas: replicas,
    allowMissing: true,
    warn: (m) => print("dev", `warning: ${m}`),
    secrets: { ...generateSecrets(), ...fromEnv },
    twilioApiBaseUrl: twilioApi,
    ports: svcPorts,
    env: {
      LOG_PRETTY: process.env.LOG_PRETTY ?? (useColor ? "true" : "false"),
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
      ...(given.TWILIO_FROM_NUMBER ? { TWILIO_FROM_NUMBER: given.TWILIO_FROM_NUMBER } : {}),
    },
    // A local stack answers simulated inbound calls (`voicecall simulate`) unless told otherwise.
    serviceEnv: {
      gateway: {
        INBOUND_POLICY: process.env.INBOUND_POLICY ?? "open",
        TWILIO_ACCOUNT_GENERATED: String(twilioGenerated),
      },
    },
    onLine: print,
    startServers: async (routes) =>
      (servers = await startDevServers(routes, { dir: join(root, "tmp", "dev"), ports, onLine: print })),
  });
  for (const h of stack.all()) {
    void h.proc.exited.then((code) => {
      if (!stopping) print("dev", `${h.instance} exited (code ${code}); the rest keeps running`);
    });
  }
  const s = stack;
  const pids = [...servers!.pids(), ...s.all().map((h) => h.proc.child.pid!)];
  const cliEnv = join(root, "tmp", "dev", "cli.env");
  writeFileSync(
    cliEnv,
    Object.entries({
      ...cliEnvFor(s),
      CADDY_CA: s.servers.caddy!.caPath,
      TWILIO_ACCOUNT_GENERATED: String(twilioGenerated),
    })
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
    { mode: 0o600 },
  );
  const lines = [
    `voicecall dev stack ready (${s
      .all()
      .map((h) => `${h.instance}:${h.port}`)
      .join(", ")})`,
    `public origin   ${s.origin}   (PUBLIC_URL; Caddy's local CA: ${s.servers.caddy!.caPath})`,
    `call API        ${s.origin}/api/calls   (Authorization: Bearer ${s.secrets.API_TOKEN})`,
    `browser phone   ${s.origin}/phone#token=${s.secrets.API_TOKEN}   (microphone; no Twilio needed)`,
    `NATS ${s.servers.natsUrl}   Redis ${s.servers.redisUrl}   (redis-cli -u "$REDIS_URL" after sourcing the CLI env below)`,
    `secrets         ${secretsLine}   (other settings: from the environment only)`,
    twilioGenerated
      ? `Twilio          credentials GENERATED, not a real account: phone calls and hangups answer 503 (export TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER before \`npm run dev\` to use yours)`
      : `Twilio          account ${s.secrets.TWILIO_ACCOUNT_SID}${twilioApi ? ` at ${twilioApi}` : ""}`,
    `CLI             set -a; . ${cliEnv}; set +a; npx voicecall doctor --allow-local   (or: npx voicecall simulate --say "what are your opening hours")`,
    `pids ${pids.join(" ")}`,
    `Ctrl-C stops everything.`,
  ];
  for (const l of lines) print("dev", l);
}

main().catch((err: Error) => {
  print("dev", `failed: ${err.message}`);
  process.exit(1);
});
