import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/support/sequencer';

/**
 * Tests by kind, one vitest project each (`vitest run --project unit`):
 * - unit: no I/O at all (no PostgreSQL, bash, network or synth); seconds.
 * - integration: the registry on PostgreSQL, host scripts in real bash, steps against s3rver.
 * - infra: assertions on the synthesized template (files share a worker's synth: not isolated).
 * - lab: the lab's fidelity to SSM, Step Functions, S3, Secrets Manager, CloudWatch.
 * - workflows: the synthesized state machines run end to end in the lab.
 * - browser: the console in headless Chromium against a lab (screenshots in test-artefacts/).
 * Global setups start only for the projects that need them: one PostgreSQL
 * server shared by integration and workflows, and one synthesized app
 * (bundles included) shared by every lab of the run, made in the background
 * while the other projects run first (test/support/sequencer.ts).
 */
const POSTGRES = 'test/support/postgres-setup.ts';
const APP = 'test/support/app-setup.ts';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    sequence: { sequencer: LongestFirstSequencer },
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/support/no-io.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: [POSTGRES] } },
      { extends: true, test: { name: 'infra', include: ['test/infra/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'lab', include: ['test/lab/**/*.test.ts'] } },
      { extends: true, test: { name: 'workflows', include: ['test/workflows/**/*.test.ts'], globalSetup: [POSTGRES, APP] } },
      { extends: true, test: { name: 'browser', include: ['test/browser/**/*.test.ts'], globalSetup: [POSTGRES, APP], testTimeout: 180_000 } },
    ],
  },
});
