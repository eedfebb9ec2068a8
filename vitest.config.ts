import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "libs/*/src/**/*.test.ts",
      "services/*/src/**/*.test.ts",
      "services/*/test/**/*.test.ts",
      "test/**/*.test.ts",
      "bench/**/*.test.ts",
    ],
    // the compose stack on a Docker engine: `npm run test:docker` (test/docker/vitest.config.ts)
    exclude: ["**/node_modules/**", "test/docker/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // 2 cores: integration files each start real servers; more parallelism only adds jitter.
    maxWorkers: 2,
    minWorkers: 1,
    // Whole-stack tests on a loaded 2-core machine can miss a wait by chance; one retry keeps CI honest
    // about real failures (a real bug fails twice) without failing on scheduling noise.
    retry: process.env.CI ? 1 : 0,
  },
});
