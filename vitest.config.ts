import { defineConfig } from 'vitest/config';

// One suite: unit, infrastructure and lab tests. The global setup starts a
// throwaway PostgreSQL server (or uses DATABASE_URL) shared by all files.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
