import { defineConfig } from 'vitest/config';

// `npm run test:package`: the packed package in a new project (test/e2e/), apart from `npm test` because it packs and installs.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // The checks share one install and run in order.
    sequence: { concurrent: false },
  },
});
