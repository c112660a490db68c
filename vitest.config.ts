import { defineConfig } from 'vitest/config';

/**
 * Test files whose assertions hang on the machine's CPU being there when they
 * need it: Chromium renders against deadlines (a browser killed mid-crawl must
 * be relaunched and finish its pages), and chaos.test.ts compares event-loop
 * stalls between threads and kills crawls at chosen moments. They run after
 * the rest, one file at a time, with the CPU to themselves.
 */
const SERIAL = ['test/browser.test.ts', 'test/browser-session.test.ts', 'test/screenshots.test.ts', 'test/chaos.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Tests spawn the CLI and run real servers; forks keep each file's process separate.
    pool: 'forks',
    projects: [
      {
        extends: true,
        // Two files at a time: most of a file's time is a child `crawl` process and its servers waiting on each other,
        // so two overlap on 2 cores (the suite took 7.5 min in one worker, see README "Developing crawlkit").
        test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: SERIAL, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: 'serial', include: SERIAL, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
