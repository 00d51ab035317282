/**
 * A rollout tells the truth (issue 15), over the in-memory registry: a
 * rollback in which a restore failed ends failed naming the host; a
 * rolled-back host is upgraded again by the next attempt; a resume plans
 * against the fleet as it is now and keeps the rollout's consent.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { combineStores } from '../../core/registry/combine';
import type { HostRun, RunStore } from '../../core/registry/store';
import { claimHost, finishRollout, recordHost, type RolloutContext, type RolloutDeps } from '../../core/rollout';
import { planRollout } from '../../core/rollout-plan';
import { memoryRegistry, type MemoryRegistry } from '../support/memory-registry';

const FLEET = 'acme';
const arn = (n: number) => `arn:aws:states:us-east-1:111122223333:execution:FleetRollout:acme--a${n}`;

let registry: MemoryRegistry;
let deps: RolloutDeps;
let published: string[];

beforeEach(async () => {
  registry = memoryRegistry();
  published = [];
  const runStore: Pick<RunStore, 'listRuns'> = { listRuns: async () => [] as HostRun[] };
  deps = { store: combineStores({}, [registry, runStore]), alerts: { publish: async (subject: string) => void published.push(subject) } };
  await registry.upsertRelease({ version: '1.5.0', destructive: false });
  await registry.upsertFleet({ id: FLEET, config: { waves: [{ tier: 'staging', hosts: '100%', failureThreshold: 0 }] } });
  for (const id of ['h1', 'h2']) await addHost(id);
});

async function addHost(id: string) {
  await registry.upsertHost({
    id,
    fleetId: FLEET,
    instanceId: `i-${Buffer.from(id).toString('hex').padStart(17, '0')}`,
    tier: 'staging',
    databaseMode: 'embedded',
    composeDir: '/opt/semaphor',
    healthUrl: 'http://10.0.0.1:3000/api/health',
  });
}

const succeeded = (ctx: RolloutContext, hostId: string) => recordHost({ rollout: ctx, wave: 0, hostId, output: { outcome: 'succeeded' } }, deps);

describe('a rollout tells the truth', () => {
  it('a rollback in which one host\'s restore failed ends failed, naming that host', async () => {
    const ctx = await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(1), deps);
    await recordHost({ rollout: ctx, wave: 0, hostId: 'h1', mode: 'rollback' }, deps);
    await recordHost({ rollout: ctx, wave: 0, hostId: 'h2', mode: 'rollback', error: { Error: 'States.TaskFailed', Cause: JSON.stringify({ Error: 'RollbackFailed', Cause: 'pg_restore failed' }) } }, deps);

    const summary = (await finishRollout({ rollout: ctx, status: 'rolled-back', wave: null, error: null }, deps)) as { status: string; rollbackFailed?: string[]; cause?: string };

    expect(summary.status).toBe('failed');
    expect(summary.rollbackFailed).toEqual(['h2']);
    expect(summary.cause).toContain('h2');
    expect((await registry.getRollout(ctx.rolloutId)).status).toBe('failed');
    expect((await registry.listRolloutHosts(ctx.rolloutId)).find((h) => h.hostId === 'h2')).toMatchObject({ outcome: 'rollback-failed', message: 'States.TaskFailed: RollbackFailed: pg_restore failed' });
    expect(published).toContain(`fleetwave: rollout ${ctx.rolloutId} failed`);
  });

  it('a rolled-back host is upgraded again by the next attempt', async () => {
    const ctx = await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(1), deps);
    await succeeded(ctx, 'h1');
    await succeeded(ctx, 'h2');
    await finishRollout({ rollout: ctx, status: 'succeeded', wave: null, error: null }, deps);
    await recordHost({ rollout: ctx, wave: 0, hostId: 'h1', mode: 'rollback' }, deps);
    await recordHost({ rollout: ctx, wave: 0, hostId: 'h2', mode: 'rollback' }, deps);

    const again = await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(2), deps);

    expect(again.attempt).toBe(2);
    expect(await claimHost({ rollout: again, wave: 0, hostId: 'h1' }, deps)).toMatchObject({ action: 'run' });
    expect(await claimHost({ rollout: again, wave: 0, hostId: 'h2' }, deps)).toMatchObject({ action: 'run' });
  });

  it('a resume plans against the fleet now: a host added since is in its tier\'s wave, a retired one is not', async () => {
    const ctx = await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(1), deps);
    await succeeded(ctx, 'h1');
    await addHost('h3');
    await registry.applyFleet({ fleet: { id: FLEET, config: { waves: [{ tier: 'staging', hosts: '100%', failureThreshold: 0 }] } }, hosts: ['h1', 'h3'].map((id) => ({ id, fleetId: FLEET, instanceId: `i-${Buffer.from(id).toString('hex').padStart(17, '0')}`, tier: 'staging' as const, databaseMode: 'embedded' as const, composeDir: '/opt/semaphor', healthUrl: 'http://10.0.0.1:3000/api/health' })), actor: 'test' });

    const resumed = await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(2), deps);

    expect((await registry.listRolloutWaves(ctx.rolloutId)).map((w) => w.hostIds)).toEqual([['h1', 'h3']]);
    expect(await claimHost({ rollout: resumed, wave: 0, hostId: 'h3' }, deps)).toMatchObject({ action: 'run' });
    expect(await claimHost({ rollout: resumed, wave: 0, hostId: 'h1' }, deps)).toMatchObject({ action: 'skip' });
  });

  it('a resume keeps the consent the rollout was started with, and refuses a request that would change it', async () => {
    await planRollout({ fleetId: FLEET, version: '1.5.0', allowDestructive: true }, arn(1), deps);

    const resumed = await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(2), deps);
    expect(resumed.allowDestructive).toBe(true);
    await expect(planRollout({ fleetId: FLEET, version: '1.5.0', allowDestructive: false }, arn(3), deps)).rejects.toThrow(
      'was started with --allow-destructive; a resume keeps that consent',
    );
    expect((await registry.getRollout(resumed.rolloutId)).allowDestructive).toBe(true);
  });
});
