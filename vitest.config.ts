import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real processes (redis-server, app nodes, nginx); give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel workers; each starts its own private Redis on a free port.
    maxWorkers: 2,
    reporters: ['default'],
    server: {
      deps: {
        // Imports its JSON schema without an import attribute, which Node 20 refuses; let Vite load it.
        inline: ['@actions/workflow-parser'],
      },
    },
  },
});
