import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Tests spawn the CLI and run real servers; forks keep each file's process separate.
    pool: 'forks',
  },
});
