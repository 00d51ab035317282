/**
 * core/host-run/reconcile.ts and the step waits store on a real PostgreSQL: an
 * execution that ended (timed out, stopped, failed) with its run still open
 * leaves the host quarantined, the operator paged, the run finished and the
 * lease released; a finished run is left alone.
 */
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { beginUpgrade, finishHostRun, reconcileEndedExecution, type HostRunDeps, type ReconcileDeps } from '../../../core/host-run';
import type { SentCommand } from '../../../core/models';
import { PgRegistryStore } from '../../../core/registry/pg-store';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let db: TestDatabase;
let pool: pg.Pool;
let store: PgRegistryStore;
const alerts: { subject: string; message: Record<string, unknown> }[] = [];
const cancelled: string[] = [];
let deps: HostRunDeps;
let reconcileDeps: ReconcileDeps;
let seq = 0;
let hostId: string;

const exec = (n: string) => `arn:aws:states:us-east-1:000000000000:execution:HostUpgrade:${n}`;
const machine = 'arn:aws:states:us-east-1:000000000000:stateMachine:HostUpgrade';

beforeAll(async () => {
  db = await createTestDatabase('fw_reconcile');
  pool = new pg.Pool({ connectionString: db.url });
  store = new PgRegistryStore(pool);
  await store.migrate();
  deps = {
    store,
    alerts: { publish: async (subject, message) => void alerts.push({ subject, message }) },
    executions: { startedChild: async () => true },
    leaseTtlSeconds: 3600,
  };
  reconcileDeps = { store, alerts: deps.alerts, runner: { cancel: async ({ commandId }) => void cancelled.push(commandId) } };
  await store.upsertFleet({ id: 'acme' });
  for (const version of ['1.4.0', '1.5.0']) await store.upsertRelease({ version, destructive: false });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});
beforeEach(async () => {
  seq += 1;
  hostId = `rc${seq}`;
  await store.upsertHost({
    id: hostId,
    fleetId: 'acme',
    instanceId: `i-${String(seq).padStart(17, '0')}`,
    tier: 'staging',
    databaseMode: 'embedded',
    composeDir: '/opt/semaphor',
    healthUrl: 'http://127.0.0.1:3000/api/health',
  });
  await store.recordObservedVersion(hostId, '1.4.0');
  alerts.length = 0;
  cancelled.length = 0;
});

const command = (run: { instanceId: string }, commandId: string): SentCommand => ({
  step: 'restart',
  commandId,
  instanceId: run.instanceId,
  documentName: 'Fleetwave-Restart',
  sentAt: Date.now(),
  deadline: Date.now() + 60_000,
});

describe('an execution that ended without finishing its run', () => {
  it.each(['TIMED_OUT', 'ABORTED', 'FAILED'] as const)('%s: quarantines the host, pages, cancels its command, closes its waits, finishes the run and frees the lease', async (status) => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec(`${hostId}-a`), deps);
    await store.openStepWait({ taskToken: `tok-${hostId}`, run, sent: command(run, `cmd-${hostId}`) });

    const result = await reconcileEndedExecution({ executionArn: exec(`${hostId}-a`), stateMachineArn: machine, status }, reconcileDeps);

    expect(result).toEqual({ action: 'quarantined', runId: run.runId, hostId });
    const host = await store.getHost(hostId);
    expect(host.locked).toBe(true);
    expect(host.lockedReason).toMatch(/before it finished run/);
    expect(alerts).toEqual([{ subject: `fleetwave: RUN_UNFINISHED on ${hostId}`, message: expect.objectContaining({ event: 'RUN_UNFINISHED', runId: run.runId, status }) }]);
    expect(cancelled).toEqual([`cmd-${hostId}`]);
    expect(await store.listRunStepWaits(run.runId)).toEqual([]);
    expect(await store.getRun(run.runId)).toMatchObject({ status: 'failed', outcome: 'rollback-failed' });
    expect(await store.getLease(hostId)).toBeNull();
    // the same event again (EventBridge delivers at least once) changes nothing and pages no one
    expect(await reconcileEndedExecution({ executionArn: exec(`${hostId}-a`), stateMachineArn: machine, status }, reconcileDeps)).toMatchObject({ action: 'none' });
    expect(alerts).toHaveLength(1);
  });

  it('keeps the lock a fenced-out finish-run put on the host, and pages no one a second time', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec(`${hostId}-c`), deps);
    // finish-run quarantined the host (and paged ROLLBACK_FAILED), then its lease was gone
    await store.lockHost(hostId, `rollback failed during run ${run.runId}: restore failed`, exec(`${hostId}-c`));

    const result = await reconcileEndedExecution({ executionArn: exec(`${hostId}-c`), stateMachineArn: machine, status: 'FAILED', error: 'FinishRunFailed' }, reconcileDeps);

    expect(result).toEqual({ action: 'quarantined', runId: run.runId, hostId });
    expect((await store.getHost(hostId)).lockedReason).toBe(`rollback failed during run ${run.runId}: restore failed`);
    expect(alerts).toEqual([]);
    expect(await store.getRun(run.runId)).toMatchObject({ status: 'failed', outcome: 'rollback-failed' });
  });

  it('leaves a run its execution finished alone, and an execution that made no run', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec(`${hostId}-b`), deps);
    await finishHostRun({ run, request: {}, outcome: 'preflight-failed', failedStep: 'preflight', verdict: null, error: null, backup: null, executionArn: exec(`${hostId}-b`) }, deps);
    expect(await reconcileEndedExecution({ executionArn: exec(`${hostId}-b`), stateMachineArn: machine, status: 'FAILED', error: 'UpgradeFailed' }, reconcileDeps)).toMatchObject({ action: 'none' });
    expect(await reconcileEndedExecution({ executionArn: exec(`${hostId}-refused`), stateMachineArn: machine, status: 'FAILED' }, reconcileDeps)).toMatchObject({ action: 'none' });
    expect((await store.getHost(hostId)).locked).toBe(false);
    expect(alerts).toEqual([]);
  });
});

describe('step waits', () => {
  it('are found by command while open, and a closed one is gone from every list', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec(`${hostId}-w`), deps);
    await store.openStepWait({ taskToken: `a-${hostId}`, run, sent: command(run, `c-${hostId}`) });
    await store.openStepWait({ taskToken: `a-${hostId}`, run, sent: command(run, `c-${hostId}`) }); // a retried send-step
    await store.openStepWait({ taskToken: `b-${hostId}`, run, sent: command(run, `c-${hostId}`) });
    expect((await store.listStepWaits({ commandId: `c-${hostId}` })).map((w) => w.taskToken)).toEqual([`a-${hostId}`, `b-${hostId}`]);
    const [first] = await store.listStepWaits({ commandId: `c-${hostId}` });
    expect(first!.run).toEqual(run);
    await store.closeStepWait(`a-${hostId}`, 'answered: Success');
    await store.closeStepWait(`a-${hostId}`, 'again'); // no-op
    expect((await store.listOpenStepWaits(1000)).filter((w) => w.run.hostId === hostId).map((w) => w.taskToken)).toEqual([`b-${hostId}`]);
    expect((await store.listRunStepWaits(run.runId)).map((w) => w.taskToken)).toEqual([`b-${hostId}`]);
  });
});
