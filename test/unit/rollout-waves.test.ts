/**
 * The wave budget of a fleet rollout (core/rollout.ts: tally, claimHost,
 * recordHost, nextBatch, evaluateWave) against the in-memory registry: which
 * hosts start, which are skipped, and how results count against a wave.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../../core/models';
import { combineStores } from '../../core/registry/combine';
import type { HostRun, RunStore } from '../../core/registry/store';
import {
  BATCH_SIZE,
  childExecutionName,
  claimHost,
  evaluateWave,
  nextBatch,
  recordHost,
  type RolloutContext,
  type RolloutDeps,
} from '../../core/rollout';
import { planRollout } from '../../core/rollout-plan';
import { nextRollbackBatch } from '../../core/rollout-rollback';
import { memoryRegistry, type MemoryRegistry } from '../support/memory-registry';

const FLEET = 'acme';
const arn = (n: number) => `arn:aws:states:us-east-1:111122223333:execution:FleetRollout:acme--a${n}`;

let registry: MemoryRegistry;
/** The host runs the rollout's HostUpgrade children left behind (HostUpgrade writes them in the lab). */
let runs: HostRun[];
let deps: RolloutDeps;

beforeEach(() => {
  registry = memoryRegistry();
  runs = [];
  const runStore: Pick<RunStore, 'listRuns'> = {
    listRuns: async ({ hostId, rolloutId, limit = 100 } = {}) =>
      runs.filter((r) => (!hostId || r.hostId === hostId) && (!rolloutId || r.rolloutId === rolloutId)).reverse().slice(0, limit),
  };
  deps = { store: combineStores({}, [registry, runStore]), alerts: { publish: async () => undefined } };
});

/** A fleet of `hosts` staging hosts in one wave tolerating `failureThreshold`, planned as attempt 1. */
async function plan(hosts: number, failureThreshold: number | string, config: Record<string, unknown> = {}): Promise<{ ctx: RolloutContext; ids: string[] }> {
  await registry.upsertRelease({ version: '1.5.0', destructive: false });
  await registry.upsertFleet({ id: FLEET, config: { waves: [{ tier: 'staging', hosts: '100%', failureThreshold }], ...config } });
  const ids = Array.from({ length: hosts }, (_, i) => `h${String(i).padStart(3, '0')}`);
  for (const [i, id] of ids.entries()) {
    await registry.upsertHost({
      id,
      fleetId: FLEET,
      instanceId: `i-${(i + 1).toString(16).padStart(17, '0')}`,
      tier: 'staging',
      databaseMode: 'embedded',
      composeDir: '/opt/semaphor',
      healthUrl: 'http://10.0.0.1:3000/api/health',
    });
  }
  return { ctx: await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(1), deps), ids };
}

/** A host's HostUpgrade ended: its run is finished in the registry, and RecordHost(Failure) reports it. */
async function hostEnded(ctx: RolloutContext, hostId: string, outcome: RunOutcome, message: string | null = null) {
  const ok = outcome === 'succeeded' || outcome === 'noop';
  runs.push({
    id: randomUUID(),
    hostId,
    rolloutId: ctx.rolloutId,
    kind: 'upgrade',
    fromVersion: '1.4.0',
    targetVersion: ctx.version,
    status: ok ? 'succeeded' : 'failed',
    outcome,
    failedStep: null,
    commandId: null,
    outputUri: null,
    message,
    executionArn: null,
    leaseToken: 1,
    startedAt: Date.now(),
    finishedAt: Date.now(),
  });
  const event = { rollout: ctx, wave: 0, hostId };
  return ok
    ? recordHost({ ...event, output: { outcome } }, deps)
    : recordHost({ ...event, error: { Error: 'HostUpgradeFailed', Cause: outcome } }, deps);
}

describe('a wave within its failure budget', () => {
  it('keeps claiming hosts while failures stay at the percentage it tolerates', async () => {
    const { ctx, ids } = await plan(10, '20%'); // 2 failures tolerated
    await hostEnded(ctx, ids[0]!, 'unhealthy');
    await hostEnded(ctx, ids[1]!, 'schema-sync-failed');

    const claim = await claimHost({ rollout: ctx, wave: 0, hostId: ids[2]! }, deps);
    const batch = await nextBatch({ rollout: ctx, wave: 0 }, deps);

    expect(claim).toEqual({ action: 'run', executionName: `${ctx.rolloutId}--${ids[2]}--a1` });
    expect(batch).toMatchObject({ failed: 2, maxFailures: 2, pending: 8, more: true });
    expect(batch.items.map((i) => i.hostId).sort()).toEqual(ids.slice(2));
  });

  it('passes when every host is done and failures are within budget', async () => {
    const { ctx, ids } = await plan(5, 1);
    await hostEnded(ctx, ids[0]!, 'unhealthy');
    for (const id of ids.slice(1)) await hostEnded(ctx, id, id === ids[1] ? 'noop' : 'succeeded');

    const verdict = await evaluateWave({ rollout: ctx, wave: 0 }, deps);

    expect(verdict).toMatchObject({ ok: true, failed: 1, succeeded: 4, notStarted: 0, maxFailures: 1 });
    expect((await registry.getRolloutWave(ctx.rolloutId, 0))).toMatchObject({ status: 'succeeded', failed: 1, succeeded: 4 });
    expect((await registry.listAudit({ rolloutId: ctx.rolloutId }))[0]).toMatchObject({ action: 'rollout.wave-succeeded' });
  });

  it('hands out at most one batch of hosts at a time', async () => {
    const { ctx } = await plan(BATCH_SIZE + 7, 0);

    const batch = await nextBatch({ rollout: ctx, wave: 0 }, deps);

    expect(batch.items).toHaveLength(BATCH_SIZE);
    expect(batch.pending).toBe(BATCH_SIZE + 7);
  });
});

describe('a wave over its failure budget', () => {
  it('stops handing out and claiming hosts once failures exceed the budget', async () => {
    const { ctx, ids } = await plan(4, '25%'); // 1 failure tolerated
    await hostEnded(ctx, ids[0]!, 'unhealthy');
    await hostEnded(ctx, ids[1]!, 'pull-failed');

    const batch = await nextBatch({ rollout: ctx, wave: 0 }, deps);
    const claim = await claimHost({ rollout: ctx, wave: 0, hostId: ids[2]! }, deps);
    const verdict = await evaluateWave({ rollout: ctx, wave: 0 }, deps);

    expect(batch).toMatchObject({ items: [], more: false, failed: 2, pending: 2 });
    expect(claim).toEqual({ action: 'skip', reason: 'wave 0 is over its failure budget (2 > 1)' });
    expect(verdict).toMatchObject({ ok: false, failed: 2, succeeded: 0, notStarted: 2 });
    expect((await registry.getRolloutWave(ctx.rolloutId, 0)).status).toBe('failed');
  });

  it('fails a wave with hosts never started, even with no failure', async () => {
    const { ctx, ids } = await plan(3, 0);
    await hostEnded(ctx, ids[0]!, 'succeeded');

    expect(await evaluateWave({ rollout: ctx, wave: 0 }, deps)).toMatchObject({ ok: false, failed: 0, notStarted: 2 });
  });
});

describe('unreachable hosts', () => {
  it('count as failures by default', async () => {
    const { ctx, ids } = await plan(3, 0);
    await hostEnded(ctx, ids[0]!, 'unreachable', 'SSM agent offline');

    const claim = await claimHost({ rollout: ctx, wave: 0, hostId: ids[1]! }, deps);

    expect(claim.action).toBe('skip');
    expect(await registry.listRolloutHosts(ctx.rolloutId)).toMatchObject([{ hostId: ids[0], result: 'unreachable', outcome: 'unreachable', message: 'SSM agent offline' }]);
  });

  it('do not use up the budget when the fleet says unreachableCountsAsFailure: false', async () => {
    const { ctx, ids } = await plan(3, 0, { unreachableCountsAsFailure: false });
    await hostEnded(ctx, ids[0]!, 'unreachable');

    const claim = await claimHost({ rollout: ctx, wave: 0, hostId: ids[1]! }, deps);
    for (const id of ids.slice(1)) await hostEnded(ctx, id, 'succeeded');
    const verdict = await evaluateWave({ rollout: ctx, wave: 0 }, deps);

    expect(claim.action).toBe('run');
    expect(verdict).toMatchObject({ ok: true, failed: 0, unreachable: 1, succeeded: 2, notStarted: 0 });
  });
});

describe('recording a host', () => {
  it('records a host refused before any run (locked, quarantined) as refused, against the budget', async () => {
    const { ctx, ids } = await plan(2, 0);

    const recorded = await recordHost({ rollout: ctx, wave: 0, hostId: ids[0]!, error: { Error: 'HostQuarantinedError', Cause: 'quarantined' } }, deps);

    expect(recorded).toEqual({ hostId: ids[0], result: 'refused' });
    expect(await registry.listRolloutHosts(ctx.rolloutId)).toMatchObject([{ result: 'refused', outcome: 'refused', message: 'HostQuarantinedError', attempt: 1, wave: 0 }]);
    expect(await claimHost({ rollout: ctx, wave: 0, hostId: ids[1]! }, deps)).toMatchObject({ action: 'skip' });
  });

  it('records a host whose run never finished (its child failed around it) as refused', async () => {
    const { ctx, ids } = await plan(2, 0);
    await hostEnded(ctx, ids[0]!, 'unhealthy');
    Object.assign(runs[0]!, { status: 'running', outcome: null, finishedAt: null });

    const recorded = await recordHost({ rollout: ctx, wave: 0, hostId: ids[0]!, error: { Error: 'States.Timeout' } }, deps);

    expect(recorded.result).toBe('refused');
    expect((await registry.listRolloutHosts(ctx.rolloutId))[0]).toMatchObject({ outcome: 'refused', message: 'States.Timeout' });
  });

  it('records a restore that failed as rollback-failed, from the run rather than the error', async () => {
    const { ctx, ids } = await plan(2, 0);

    const recorded = await hostEnded(ctx, ids[0]!, 'rollback-failed', 'restore failed');

    expect(recorded.result).toBe('rollback-failed');
    expect((await registry.listRolloutHosts(ctx.rolloutId))[0]).toMatchObject({ outcome: 'rollback-failed', message: 'restore failed' });
  });

  it('records a RolloutRollback child as rolled-back, or rollback-failed when it failed', async () => {
    const { ctx, ids } = await plan(2, 0);

    const restored = await recordHost({ rollout: ctx, wave: 0, hostId: ids[0]!, mode: 'rollback' }, deps);
    const broken = await recordHost({ rollout: ctx, wave: 0, hostId: ids[1]!, mode: 'rollback', error: { Error: 'RollbackFailed' } }, deps);

    expect([restored.result, broken.result]).toEqual(['rolled-back', 'rollback-failed']);
  });

  it('skips a host already done in this rollout', async () => {
    const { ctx, ids } = await plan(2, 0);
    await hostEnded(ctx, ids[0]!, 'succeeded');

    expect(await claimHost({ rollout: ctx, wave: 0, hostId: ids[0]! }, deps)).toEqual({ action: 'skip', reason: 'already done in this rollout' });
  });
});

describe('resuming a rollout', () => {
  it("retries an earlier attempt's failed hosts with the full budget, and never repeats a succeeded one", async () => {
    const { ctx, ids } = await plan(4, 0);
    await hostEnded(ctx, ids[0]!, 'succeeded');
    await hostEnded(ctx, ids[1]!, 'unhealthy');
    expect((await nextBatch({ rollout: ctx, wave: 0 }, deps)).items).toEqual([]); // attempt 1 stopped

    const resumed = await planRollout({ fleetId: FLEET, version: '1.5.0' }, arn(2), deps);
    const batch = await nextBatch({ rollout: resumed, wave: 0 }, deps);
    const claim = await claimHost({ rollout: resumed, wave: 0, hostId: ids[1]! }, deps);

    expect(resumed).toMatchObject({ attempt: 2, resumed: true });
    expect(batch).toMatchObject({ failed: 0, pending: 3 });
    expect(batch.items.map((i) => i.hostId).sort()).toEqual(ids.slice(1));
    expect(claim).toEqual({ action: 'run', executionName: `${ctx.rolloutId}--${ids[1]}--a2` });
    expect((await registry.listAudit({ rolloutId: ctx.rolloutId })).map((a) => a.action)).toEqual(['rollout.resumed', 'rollout.started']);
  });
});

describe('stopping a rollout', () => {
  it('starts no new host once a stop is requested mid-wave', async () => {
    const { ctx, ids } = await plan(4, 1);
    await hostEnded(ctx, ids[0]!, 'succeeded');
    await registry.setRolloutStatus(ctx.rolloutId, 'stop-requested');

    const batch = await nextBatch({ rollout: ctx, wave: 0 }, deps);
    const claim = await claimHost({ rollout: ctx, wave: 0, hostId: ids[1]! }, deps);

    expect(batch).toMatchObject({ items: [], more: false, stopRequested: true, pending: 3 });
    expect(claim).toEqual({ action: 'skip', reason: 'the rollout is stopping' });
  });
});

// Issue #12 item 11: Step Functions execution names are 1-80 characters of A-Za-z0-9-_
// (StartExecution `name`); ids are up to 63 characters each, so names must be bounded
// without cutting off what makes them unique (the attempt).
describe('child execution names', () => {
  const NAME = /^[A-Za-z0-9_-]{1,80}$/;

  it('stay within 80 characters and differ per attempt for the longest ids', async () => {
    const rolloutId = `r${'x'.repeat(62)}`;
    const hostId = `h${'y'.repeat(62)}`;
    await registry.upsertRelease({ version: '1.5.0', destructive: false });
    await registry.upsertFleet({ id: FLEET, config: {} });
    await registry.upsertHost({
      id: hostId,
      fleetId: FLEET,
      instanceId: 'i-00000000000000001',
      tier: 'staging',
      databaseMode: 'embedded',
      composeDir: '/opt/semaphor',
      healthUrl: 'http://10.0.0.1:3000/api/health',
    });
    const ctx = await planRollout({ fleetId: FLEET, version: '1.5.0', rolloutId }, arn(1), deps);
    const names = [];
    for (const attempt of [1, 2, 10]) {
      const claim = await claimHost({ rollout: { ...ctx, attempt }, wave: 0, hostId }, deps);
      expect(claim.action).toBe('run');
      names.push(claim.action === 'run' ? claim.executionName : '');
    }
    for (const n of names) expect(n).toMatch(NAME);
    expect(new Set(names).size).toBe(3);
  });

  it('keep a short name readable', async () => {
    const { ctx, ids } = await plan(1, 0);
    expect(await claimHost({ rollout: ctx, wave: 0, hostId: ids[0]! }, deps)).toEqual({ action: 'run', executionName: `${ctx.rolloutId}--${ids[0]}--a1` });
  });
});

describe('childExecutionName', () => {
  it('bounds every rollback name and keeps it unique per host', () => {
    const long = `r${'x'.repeat(62)}`;
    const a = childExecutionName(long, `h${'y'.repeat(62)}`, 'rollback');
    const b = childExecutionName(long, `h${'y'.repeat(61)}z`, 'rollback');
    expect(a).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(b).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(a).not.toBe(b);
    expect(childExecutionName('acme-1-5-0', 'web-1', 'rollback')).toBe('acme-1-5-0--web-1--rollback');
  });
});

describe('rolling back a rollout over later changes (issue #12 item 9)', () => {
  /** A run outside the rollout that upgraded the host again after the rollout's run. */
  function upgradedLater(hostId: string, from: string, to: string): HostRun {
    const later: HostRun = {
      ...runs.find((r) => r.hostId === hostId)!,
      id: randomUUID(),
      rolloutId: null,
      fromVersion: from,
      targetVersion: to,
      outcome: 'succeeded',
      startedAt: Date.now() + 1000,
      finishedAt: Date.now() + 2000,
    };
    runs.push(later);
    return later;
  }

  it('leaves out a host a later run upgraded and records it as refused, naming that run', async () => {
    const { ctx, ids } = await plan(2, 0);
    for (const id of ids) await hostEnded(ctx, id, 'succeeded');
    const later = upgradedLater(ids[1]!, '1.5.0', '1.6.0');

    const batch = await nextRollbackBatch({ rollout: ctx, request: {} }, deps);

    expect(batch.items.map((i) => i.hostId)).toEqual([ids[0]]);
    expect(batch).toMatchObject({ refused: [ids[1]], refusedTotal: 1 });
    const recorded = (await registry.listRolloutHosts(ctx.rolloutId)).find((h) => h.hostId === ids[1]);
    expect(recorded).toMatchObject({ result: 'refused', outcome: 'newer-changes' });
    expect(recorded?.message).toContain(`run ${later.id} (upgrade 1.5.0 → 1.6.0`);
  });

  it('ends the rollback once only refused hosts are left', async () => {
    const { ctx, ids } = await plan(1, 0);
    await hostEnded(ctx, ids[0]!, 'succeeded');
    upgradedLater(ids[0]!, '1.5.0', '1.6.0');

    const first = await nextRollbackBatch({ rollout: ctx, request: {} }, deps);
    const again = await nextRollbackBatch({ rollout: ctx, request: {} }, deps);

    expect([first.more, again.more]).toEqual([false, false]);
  });

  it('restores that host when forced, even after an unforced rollback refused it', async () => {
    const { ctx, ids } = await plan(1, 0);
    await hostEnded(ctx, ids[0]!, 'succeeded');
    upgradedLater(ids[0]!, '1.5.0', '1.6.0');
    await nextRollbackBatch({ rollout: ctx, request: {} }, deps);

    const forced = await nextRollbackBatch({ rollout: ctx, request: { force: true } }, deps);

    expect(forced.items).toEqual([expect.objectContaining({ hostId: ids[0], force: true })]);
    expect(forced.refused).toEqual([]);
  });

  it('does not count a later noop or a failed later run as a change', async () => {
    const { ctx, ids } = await plan(1, 0);
    await hostEnded(ctx, ids[0]!, 'succeeded');
    const noop = upgradedLater(ids[0]!, '1.5.0', '1.5.0');
    noop.outcome = 'noop';
    const failed = upgradedLater(ids[0]!, '1.5.0', '1.6.0');
    Object.assign(failed, { status: 'failed', outcome: 'restored' });

    const batch = await nextRollbackBatch({ rollout: ctx, request: {} }, deps);

    expect(batch.items.map((i) => i.hostId)).toEqual([ids[0]]);
  });
});
