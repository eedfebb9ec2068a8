import { defineConfig } from "vitest/config";

// `npm run test:docker`: the compose stack and the Swarm stack on a Docker engine (each file one story, one file at a time, no retries).
export default defineConfig({
  test: {
    include: ["test/docker/**/*.test.ts"],
    testTimeout: 240_000,
    hookTimeout: 1_500_000,
    pool: "forks",
    maxWorkers: 1,
    minWorkers: 1,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
