// Preload (NODE_OPTIONS=--import …) that CPU-profiles a service in-process: `--cpu-prof` is not allowed
// in NODE_OPTIONS. SIGUSR2 writes the profile so far to $BENCH_PROFILE_DIR and starts a new one.
import { Session } from "node:inspector";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.BENCH_PROFILE_DIR ?? "/tmp";
const session = new Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.setSamplingInterval", { interval: 500 });
session.post("Profiler.start");
process.on("SIGUSR2", () => {
  session.post("Profiler.stop", (err, res) => {
    if (!err) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, `${process.env.BENCH_PROFILE_NAME ?? "media"}-${process.pid}-${Date.now()}.cpuprofile`),
        JSON.stringify(res.profile),
      );
    }
    session.post("Profiler.start");
  });
});
