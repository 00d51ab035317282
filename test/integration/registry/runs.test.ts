import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRegistryInputError, RunAlreadyFinishedError, RunConflictError, RunNotFoundError } from '../../../core/registry/errors';
import type { Host, LeaseGrant } from '../../../core/registry/store';
import { openRegistry, randomUUID, seedHost, stepOutcome, type Registry } from './fixtures';

let reg: Registry;
beforeAll(async () => {
  reg = await openRegistry();
});
afterAll(async () => {
  await reg.close();
});

const ARN = 'arn:aws:states:us-east-1:000000000000:execution:HostUpgrade:r1';

async function startRun(): Promise<{ host: Host; lease: LeaseGrant; runId: string }> {
  const host = await seedHost(reg.store);
  const lease = await reg.store.acquireLease(host.id, ARN, 600);
  const runId = randomUUID();
  await reg.store.createRun({
    id: runId,
    hostId: host.id,
    kind: 'upgrade',
    fromVersion: '1.4.0',
    targetVersion: '1.6.0',
    leaseToken: lease.token,
    executionArn: ARN,
  });
  return { host, lease, runId };
}

describe('host runs', () => {
  it('creates a run once per id and returns the stored one on retry', async () => {
    const { host, lease, runId } = await startRun();

    const again = await reg.store.createRun({
      id: runId,
      hostId: host.id,
      kind: 'upgrade',
      fromVersion: '1.4.0',
      targetVersion: '1.6.0',
      leaseToken: lease.token,
      executionArn: ARN,
    });

    expect(again).toMatchObject({ id: runId, status: 'running', leaseToken: lease.token, finishedAt: null });
    expect(await reg.store.listRuns({ hostId: host.id })).toHaveLength(1);
    expect((await reg.store.listAudit({ runId })).map((a) => a.action)).toEqual(['run.started']);
  });

  it('refuses to reuse a run id for another target', async () => {
    const { host, lease, runId } = await startRun();
    await expect(
      reg.store.createRun({ id: runId, hostId: host.id, kind: 'upgrade', fromVersion: '1.4.0', targetVersion: '2.0.0', leaseToken: lease.token }),
    ).rejects.toBeInstanceOf(RunConflictError);
  });

  it('records an identical step twice as a no-op', async () => {
    const { lease, runId } = await startRun();
    const first = await reg.store.recordStep(runId, lease.token, stepOutcome('preflight', 'cmd-1', 'Success'));

    const second = await reg.store.recordStep(runId, lease.token, stepOutcome('preflight', 'cmd-1', 'Success'));

    expect(first.changed).toBe(true);
    expect(second.changed).toBe(false);
    expect(second.step.recordedAt).toBe(first.step.recordedAt);
  });

  it('overwrites a step for a new command or a status change, but not with a late Pending', async () => {
    const { lease, runId } = await startRun();
    await reg.store.recordStep(runId, lease.token, stepOutcome('health-check', 'cmd-1', 'Pending'));
    const done = await reg.store.recordStep(runId, lease.token, stepOutcome('health-check', 'cmd-1', 'Failed'));
    const late = await reg.store.recordStep(runId, lease.token, stepOutcome('health-check', 'cmd-1', 'Pending'));
    const retried = await reg.store.recordStep(runId, lease.token, stepOutcome('health-check', 'cmd-2', 'Success'));

    expect(done).toMatchObject({ changed: true, step: { status: 'Failed', error: 'unhealthy' } });
    expect(late).toMatchObject({ changed: false, step: { status: 'Failed', commandId: 'cmd-1' } });
    expect(retried).toMatchObject({ changed: true, step: { status: 'Success', commandId: 'cmd-2', error: null } });
    expect(await reg.store.listSteps(runId)).toHaveLength(1);
  });

  it('finishes a run once; the same finish again returns it even after the lease is released', async () => {
    const { host, lease, runId } = await startRun();
    const result = { status: 'failed', outcome: 'restored', failedStep: 'watch-schema', message: 'schema sync failed' } as const;

    const finished = await reg.store.finishRun(runId, lease.token, result);
    await reg.store.releaseLease(host.id, lease.token);
    const again = await reg.store.finishRun(runId, lease.token, result);

    expect(finished).toMatchObject({ status: 'failed', outcome: 'restored', failedStep: 'watch-schema' });
    expect(finished.finishedAt).not.toBeNull();
    expect(again).toEqual(finished);
    expect((await reg.store.listAudit({ runId })).map((a) => a.action)).toEqual(['run.finished', 'run.started']);
  });

  it('refuses to finish a run again with a different result, or to record steps after it finished', async () => {
    const { lease, runId } = await startRun();
    await reg.store.finishRun(runId, lease.token, { status: 'succeeded', outcome: 'succeeded' });

    await expect(reg.store.finishRun(runId, lease.token, { status: 'failed', outcome: 'unhealthy' })).rejects.toBeInstanceOf(
      RunAlreadyFinishedError,
    );
    await expect(reg.store.recordStep(runId, lease.token, stepOutcome('preflight', 'c', 'Success'))).rejects.toBeInstanceOf(
      RunAlreadyFinishedError,
    );
    expect((await reg.store.getRun(runId)).outcome).toBe('succeeded');
  });

  it('never stores a database password that a step or a run message carried', async () => {
    const { lease, runId } = await startRun();
    const leaky = 'pg_dump: connection to postgres://semaphor:s3cret-pw@db.internal:5432/app failed';
    await reg.store.recordStep(runId, lease.token, {
      ...stepOutcome('backup', 'cmd-9', 'Failed'),
      message: leaky,
      result: { step: 'backup', ok: false, message: leaky },
    });
    await reg.store.finishRun(runId, lease.token, { status: 'failed', outcome: 'backup-failed', failedStep: 'backup', message: leaky });

    const { rows } = await reg.pool.query(
      `SELECT (SELECT string_agg(s::text, ' ') FROM run_steps s WHERE run_id = $1) AS steps,
              (SELECT message FROM host_runs WHERE id = $1) AS run,
              (SELECT string_agg(a::text, ' ') FROM audit_log a WHERE run_id = $1) AS audit`,
      [runId],
    );
    const stored = JSON.stringify(rows[0]);
    expect(stored).not.toContain('s3cret-pw');
    expect(stored).toContain('postgres://***@db.internal');
  });

  it('throws RunNotFoundError for an unknown run and refuses a malformed id', async () => {
    await expect(reg.store.getRun(randomUUID())).rejects.toBeInstanceOf(RunNotFoundError);
    await expect(reg.store.getRun('not-a-uuid')).rejects.toBeInstanceOf(InvalidRegistryInputError);
  });
});
