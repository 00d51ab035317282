/**
 * FleetRollout and RolloutRollback in the lab: waves of real HostUpgrade
 * children against simulated hosts, thresholds, policies, approval, stop and
 * resume. Independent fleets run concurrently to keep the file short.
 */
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutApprove, rolloutStart, rolloutStop, type RolloutDeps } from '../../cli/commands/rollout';
import { startExecution, waitForExecution, type ExecutionResult } from '../../cli/executions';
import type { Target } from '../../cli/target';
import { type LabHostSpec } from '../../lab/fleet';
import { dataChecksums, runningVersions, setFaults } from '../../lab/hosts';
import { planWaves } from '../../core/waves';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;

const versions = (hostId: string) => Object.values(runningVersions(t.hosts.find((h) => h.id === hostId)!.root));
const root = (hostId: string) => t.hosts.find((h) => h.id === hostId)!.root;

function fleetSpecs(prefix: string, staging: number, production: number): LabHostSpec[] {
  return [
    ...Array.from({ length: staging }, (_, i) => ({ id: `${prefix}-s${i + 1}`, tier: 'staging' as const, mode: i % 2 ? ('external' as const) : ('embedded' as const), version: '1.4.0' })),
    ...Array.from({ length: production }, (_, i) => ({ id: `${prefix}-p${i + 1}`, tier: 'production' as const, mode: i % 2 ? ('external' as const) : ('embedded' as const), version: '1.4.0' })),
  ];
}

async function fleet(id: string, staging: number, production: number, config: Record<string, unknown>) {
  const specs = fleetSpecs(id, staging, production);
  await t.addHosts(id, specs, config);
  return specs;
}

async function rollout(fleetId: string, version = '1.5.0'): Promise<ExecutionResult> {
  const { executionArn } = await startExecution(t.sfn, t.lab.stateMachines.fleetRollout!, `${fleetId}--a1`, { fleetId, version });
  return waitForExecution(t.sfn, executionArn, () => undefined, 250);
}

async function hostExecutions(prefix: string): Promise<string[]> {
  const r = await t.sfn.send(new ListExecutionsCommand({ stateMachineArn: t.lab.stateMachines.hostUpgrade, maxResults: 1000 }));
  return (r.executions ?? []).map((e) => e.name!).filter((n) => n.startsWith(`${prefix}-`));
}

const waves2 = (threshold: number) => [
  { tier: 'staging', hosts: '100%', failureThreshold: threshold },
  { tier: 'production', hosts: '100%', failureThreshold: 0 },
];

const results: Record<string, ExecutionResult> = {};
const before: Record<string, Record<string, string>> = {};
let canaryId = '';

beforeAll(async () => {
  t = await startTestLab();
  // waves wider than the concurrency (production-1: 3 hosts, 2 at a time); wave
  // planning at scale is test/unit/rollout-waves.test.ts, 1,000 hosts `npm run bench`
  const clean = await fleet('clean', 2, 6, { concurrency: 2 });
  const canary = await fleet('canary', 1, 3, { concurrency: 3 });
  canaryId = planWaves('canary', canary.map((h) => ({ id: h.id, tier: h.tier }))).find((w) => w.name === 'canary')!.hostIds[0]!;
  await setFaults(root(canaryId), { schemaSyncFails: true });
  await fleet('stg', 2, 2, { concurrency: 2, waves: waves2(0) });
  await setFaults(root('stg-s2'), { pullFails: true });
  await fleet('rbw', 1, 3, { concurrency: 3, waves: waves2(0), failurePolicy: 'rollback-wave' });
  await setFaults(root('rbw-p3'), { schemaSyncFails: true });
  await fleet('rba', 1, 3, { concurrency: 3, waves: waves2(0), failurePolicy: 'rollback-all' });
  await setFaults(root('rba-p3'), { schemaSyncFails: true });
  for (const h of [...clean, ...canary].concat(fleetSpecs('rbw', 1, 3), fleetSpecs('rba', 1, 3))) before[h.id] = await dataChecksums(root(h.id));
  // the clean rollout alone, then the small fleets together: 2 cores
  results.clean = await rollout('clean');
  const names = ['canary', 'stg', 'rbw', 'rba'];
  const done = await Promise.all(names.map((f) => rollout(f)));
  names.forEach((f, i) => (results[f] = done[i]!));
}, 900_000);

afterAll(async () => {
  await t?.close();
});

describe('FleetRollout', () => {
  it('rolls an 8-host fleet through staging, the canary and two production waves', async () => {
    expect(results.clean!.status, `${results.clean!.error}: ${results.clean!.cause}`).toBe('SUCCEEDED');
    const waves = await t.lab.store.listRolloutWaves('clean-1-5-0');
    expect(waves.map((w) => [w.name, w.tier, w.hostIds.length, w.status])).toEqual([
      ['staging', 'staging', 2, 'succeeded'],
      ['canary', 'production', 1, 'succeeded'],
      ['production-1', 'production', 3, 'succeeded'],
      ['production-2', 'production', 2, 'succeeded'],
    ]);
    for (const h of fleetSpecs('clean', 2, 6)) expect(versions(h.id)).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    expect((await t.lab.store.getFleet('clean')).desiredVersion).toBe('1.5.0');
    expect(t.lab.sns.published().some((m) => m.subject?.includes('clean-1-5-0 succeeded'))).toBe(true);
  });

  it('halts at a failed canary before any other production host changes', async () => {
    expect(results.canary!.error).toBe('RolloutHalted');
    expect(versions(canaryId)).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect(await dataChecksums(root(canaryId))).toEqual(before[canaryId]);
    const others = fleetSpecs('canary', 1, 3).filter((h) => h.tier === 'production' && h.id !== canaryId);
    const started = await hostExecutions('canary');
    for (const h of others) {
      expect(versions(h.id)).toEqual(['1.4.0', '1.4.0', '1.4.0']);
      expect(started.some((n) => n.includes(`--${h.id}--`))).toBe(false);
    }
    expect(t.lab.sns.published().some((m) => m.subject?.includes('canary-1-5-0 halted'))).toBe(true);
  });

  it('never starts production when staging is over its threshold', async () => {
    expect(results.stg!.error).toBe('RolloutHalted');
    expect((await hostExecutions('stg')).filter((n) => n.includes('-p'))).toEqual([]);
    expect(versions('stg-p1')).toEqual(['1.4.0', '1.4.0', '1.4.0']);
  });

  it('rollback-wave restores exactly the failed wave\'s upgraded hosts, data intact', async () => {
    expect(results.rbw!.error, results.rbw!.cause ?? '').toBe('RolloutRolledBack');
    for (const id of ['rbw-p1', 'rbw-p2', 'rbw-p3']) {
      expect(versions(id)).toEqual(['1.4.0', '1.4.0', '1.4.0']);
      expect(await dataChecksums(root(id))).toEqual(before[id]);
    }
    expect(versions('rbw-s1')).toEqual(['1.5.0', '1.5.0', '1.5.0']); // staging was a good wave: kept
    const hosts = await t.lab.store.listRolloutHosts('rbw-1-5-0');
    expect(hosts.filter((h) => h.result === 'rolled-back').map((h) => h.hostId).sort()).toEqual(['rbw-p1', 'rbw-p2']);
  });

  it('rollback-all restores every host the rollout upgraded, and only those', async () => {
    expect(results.rba!.error, results.rba!.cause ?? '').toBe('RolloutRolledBack');
    for (const id of ['rba-s1', 'rba-p1', 'rba-p2', 'rba-p3']) {
      expect(versions(id)).toEqual(['1.4.0', '1.4.0', '1.4.0']);
      expect(await dataChecksums(root(id))).toEqual(before[id]);
    }
    const hosts = await t.lab.store.listRolloutHosts('rba-1-5-0');
    expect(hosts.filter((h) => h.result === 'rolled-back').map((h) => h.hostId).sort()).toEqual(['rba-p1', 'rba-p2', 'rba-s1']);
  });
});

describe('operating a rollout', () => {
  const deps = (): RolloutDeps => ({
    target: { kind: 'lab', region: 'us-east-1', databaseUrl: t.lab.databaseUrl, stateMachines: t.lab.stateMachines, backupBucket: t.lab.backupBucket } as Target,
    store: t.lab.store,
    sfn: t.sfn,
  });

  it('waits for approval before production, starts nothing new on a duplicate start, and resumes after a stop without redoing hosts', async () => {
    await fleet('gate', 1, 2, { concurrency: 2, approvalBeforeProduction: true, waves: waves2(0) });
    expect(await rolloutStart(deps(), { fleet: 'gate', version: '1.5.0', json: true })).toBe(0);
    const waitFor = async (status: string) => {
      for (let i = 0; i < 600; i++) {
        if ((await t.lab.store.findRollout('gate-1-5-0'))?.status === status) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`rollout never became ${status}`);
    };
    await waitFor('awaiting-approval');
    expect(versions('gate-s1')).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    expect(versions('gate-p1')).toEqual(['1.4.0', '1.4.0', '1.4.0']);

    // a duplicate start while it runs starts nothing
    const executions = async () =>
      (await t.sfn.send(new ListExecutionsCommand({ stateMachineArn: t.lab.stateMachines.fleetRollout }))).executions!.filter((e) => e.name!.startsWith('gate-'));
    await rolloutStart(deps(), { fleet: 'gate', version: '1.5.0', json: true });
    expect(await executions()).toHaveLength(1);

    // stop while production waits, then resume: staging is not upgraded again
    expect(await rolloutStop(deps(), { rollout: 'gate-1-5-0', json: true })).toBe(0);
    await waitFor('stopped');
    expect(versions('gate-p1')).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect(await rolloutStart(deps(), { fleet: 'gate', version: '1.5.0', json: true })).toBe(0);
    await waitFor('awaiting-approval');
    expect(await rolloutApprove(deps(), { rollout: 'gate-1-5-0', json: true })).toBe(0);
    await waitFor('succeeded');
    expect(versions('gate-p1')).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    expect(versions('gate-p2')).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    expect((await hostExecutions('gate')).filter((n) => n.includes('gate-s1'))).toHaveLength(1);
    expect((await t.lab.store.getRollout('gate-1-5-0')).attempt).toBe(2);
  }, 600_000);
});
