import { defineConfig } from 'vitest/config';

// Test tiers. `npm test` runs them all; `npm run test:unit` the fast, rootless one.
// With CI=true, a skipped test fails the run (test/support/summary-reporter.ts).
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'privileged',
          sequence: { groupOrder: 1 },
          include: ['test/privileged/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // These share one kernel; each test uses its own namespace/interface prefix, but
          // 2 cores are easily saturated by real daemons, so keep the file count modest.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: 'interop',
          sequence: { groupOrder: 2 },
          include: ['test/interop/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
        },
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 3 },
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          maxWorkers: 1,
        },
      },
    ],
  },
});
