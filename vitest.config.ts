import { defineConfig } from 'vitest/config';

// Browser-side units run in jsdom, everything that opens sockets runs in node, end-to-end tests
// drive real Chromium.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'jsdom',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/integration/**/*.test.ts', 'test/build/**/*.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'types',
          include: ['test/types/**/*.test-d.ts'],
          typecheck: { enabled: true, only: true, include: ['test/types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      {
        // End-to-end in Debian's Chromium (test/helpers/browser.ts): one browser at a time, and
        // generous timeouts, since the machine may be busy with the other projects meanwhile.
        test: {
          name: 'browser',
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Fault injection (`npm run test:faults`): proxies that cut, black-hole and restart, and
        // hundreds of clients. One file at a time, so the timing measurements are not skewed by
        // each other; --expose-gc lets the leak checks measure the heap after a collection.
        test: {
          name: 'faults',
          environment: 'node',
          include: ['test/faults/**/*.test.ts'],
          fileParallelism: false,
          execArgv: ['--expose-gc'],
          testTimeout: 90_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
