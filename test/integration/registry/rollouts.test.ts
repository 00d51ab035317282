/**
 * PgRolloutStore beyond the shared contract (test/support/contracts/registry.ts):
 * what only a real database shows, concurrent starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRegistry, seedHost, type Registry } from './fixtures';

let reg: Registry;
beforeAll(async () => {
  reg = await openRegistry();
});
afterAll(async () => {
  await reg.close();
});

describe('PgRolloutStore', () => {
  it('lets two executions start the same new rollout at once: one creates it, the other resumes it', async () => {
    const host = await seedHost(reg.store);
    const start = (n: number) =>
      reg.store.startRollout({
        id: `${host.fleetId}-1-5-0`,
        fleetId: host.fleetId,
        targetVersion: '1.5.0',
        failurePolicy: 'halt',
        allowDestructive: false,
        concurrency: 5,
        executionArn: `arn:aws:states:us-east-1:111122223333:execution:FleetRollout:run-${n}`,
        waves: [{ index: 0, name: 'staging', tier: 'staging', hostIds: [host.id], maxFailures: 0 }],
      });

    const results = await Promise.all([start(1), start(2)]);

    expect(results.map((r) => [r.rollout.attempt, r.resumed]).sort()).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(await reg.store.listRolloutWaves(`${host.fleetId}-1-5-0`)).toHaveLength(1);
  });
});
