/**
 * README's "Test" and "Develop without Docker" commands, as a new user copies them into a fresh clone:
 * every script they name is in package.json, every file they name is tracked by git (a fresh clone has
 * nothing else: no tmp/, no .env), what they run directly is executable, a file they write goes to a
 * directory the clone has or the line makes, their flags are in the usage, the `--help` forms exit 0,
 * and the packages to install are the ones `.ci/run` installs.
 */
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { read, root } from "./infra-files";

const readme = read("README.md");
const section = (title: string) => {
  const start = readme.indexOf(`## ${title}\n`);
  expect(start, title).toBeGreaterThan(-1);
  const end = readme.indexOf("\n## ", start + 3);
  return readme.slice(start, end < 0 ? undefined : end);
};
const text = section("Test") + section("Develop without Docker");

/** Shell lines in ```sh blocks (comments dropped) and inline code spans that are commands. */
const fenced = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
  m[1]!
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter(Boolean),
);
const inline = [...text.matchAll(/`([^`\n]+)`/g)]
  .map((m) => m[1]!.trim())
  .filter((c) => /^([A-Z_]+=\S+ )*(npm|npx|apt-get|mkdir) |^(\.\/)?(\.ci|scripts|test)\/\S+$/.test(c));
const commands = [...new Set([...fenced, ...inline])];

const tracked = new Map(
  execFileSync("git", ["ls-files", "-s"], { cwd: root, encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => [l.slice(l.indexOf("\t") + 1), l.slice(0, 6)] as const),
);
const trackedDir = (d: string) => d === "." || [...tracked.keys()].some((f) => f.startsWith(`${d}/`));
const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
const services = readdirSync(join(root, "services"));

/** One command line split into simple commands (pipes, `&&`, `;`), each without leading VAR=… assignments. */
const simple = (line: string) =>
  line.split(/\s*(?:\|\||&&|\||;)\s*/).map((c) => c.replace(/^([A-Z_]+=\S+\s+)+/, "").split(/\s+/));

describe("README's commands work as printed in a fresh clone", () => {
  it("finds the commands (the check would see a change to them)", () => {
    expect(commands).toEqual(
      expect.arrayContaining([
        "npm ci",
        "npm test",
        "npm run dev",
        "npm run test:docker",
        "npx tsx services/<name>/src/main.ts",
      ]),
    );
    expect(commands.some((c) => /tee tmp\/dev\.log/.test(c))).toBe(true);
  });

  it.each(commands)("%s", (line) => {
    const made = new Set<string>(); // directories an earlier part of the line creates
    for (const [cmd, ...args] of simple(line)) {
      if (cmd === "npm" && args[0] === "ci")
        expect(tracked.has("package-lock.json"), "npm ci needs package-lock.json").toBe(true);
      else if (cmd === "npm" && (args[0] === "test" || args[0] === "run")) {
        const name = args[0] === "test" ? "test" : args[1]!;
        expect(scripts[name], `package.json script ${name}`).toBeDefined();
        const flags = args.slice(args.indexOf("--") + 1).filter((a) => a.startsWith("--"));
        if (args.includes("--") && flags.length) {
          const help = spawnSync("npm", ["run", "--silent", name, "--", "--help"], {
            cwd: root,
            encoding: "utf8",
            timeout: 60_000,
          });
          expect(help.status, help.stderr).toBe(0);
          for (const f of flags) expect(help.stdout, `${f} in npm run ${name} -- --help`).toContain(f);
        }
      } else if (cmd === "npx" && args[0] === "tsx") {
        const files = args[1]!.includes("<name>") ? services.map((s) => args[1]!.replace("<name>", s)) : [args[1]!];
        for (const f of files) expect(tracked.has(f), f).toBe(true);
      } else if (cmd === "npx" && args[0] === "voicecall") {
        expect(existsSync(join(root, "node_modules/.bin/voicecall")), "the voicecall bin").toBe(true);
      } else if (cmd === "mkdir") args.filter((a) => !a.startsWith("-")).forEach((d) => made.add(d));
      else if (cmd === "tee" || cmd === "apt-get") {
        if (cmd === "tee")
          for (const f of args.filter((a) => !a.startsWith("-")))
            expect(trackedDir(dirname(f)) || made.has(dirname(f)), `${f}: its directory is not in a fresh clone`).toBe(
              true,
            );
      } else if (/^(\.\/)?(\.ci|scripts|test)\//.test(cmd!)) {
        const f = cmd!.replace(/^\.\//, "");
        // A TypeScript file named alone is a test the text points at (run by vitest), not a program.
        if (f.endsWith(".ts")) expect(tracked.has(f), `${f} tracked`).toBe(true);
        else expect(tracked.get(f), `${f} tracked and executable`).toBe("100755");
      } else throw new Error(`the check does not know how to verify: ${cmd} (${line})`);
    }
  });

  it("the --help forms exit 0 and print usage", () => {
    const dev = spawnSync("npm", ["run", "--silent", "dev", "--", "--help"], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect([dev.status, dev.stdout]).toEqual([0, expect.stringMatching(/^usage: npm run dev -- /)]);
    const cli = spawnSync("npx", ["voicecall", "--help"], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect([cli.status, cli.stdout]).toEqual([0, expect.stringMatching(/^usage: voicecall <command>/)]);
  });

  it("the packages README says to install are those .ci/run installs", () => {
    const apt = /apt-get install ([^`]+)`/.exec(text)![1]!.trim().split(/\s+/);
    const ci = [...read(".ci/run").matchAll(/^\s*\[[^\]]+\]=(\S+)$/gm)].map((m) => m[1]!);
    for (const p of apt) expect(ci, p).toContain(p);
  });
});
