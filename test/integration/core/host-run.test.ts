import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  beginRollback,
  beginUpgrade,
  DestructiveConsentRequiredError,
  finishHostRun,
  NoUsableBackupError,
  recordStepOutcome,
  runIdFor,
  UnknownReleaseError,
  type HostRunDeps,
} from '../../../core/host-run';
import { createHandler as createBeginRun } from '../../../lambdas/begin-run/handler';
import { InvalidTaskInputError } from '../../../core/errors';
import type { HostRunContext, StepOutcome } from '../../../core/models';
import { PgRegistryStore } from '../../../core/registry/pg-store';
import { createTestDatabase, type TestDatabase } from '../../support/database';

let db: TestDatabase;
let pool: pg.Pool;
let store: PgRegistryStore;
const alerts: { subject: string; message: Record<string, unknown> }[] = [];
let deps: HostRunDeps;
const started = new Map<string, Set<string>>();
const start = (parent: string, child: string) => started.set(parent, new Set([...(started.get(parent) ?? []), child]));
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase('fw_hostrun');
  pool = new pg.Pool({ connectionString: db.url });
  store = new PgRegistryStore(pool);
  await store.migrate();
  deps = {
    store,
    alerts: { publish: async (subject, message) => void alerts.push({ subject, message }) },
    // the children each parent started, as its Step Functions history would show them
    executions: { startedChild: async (parent, child) => started.get(parent)?.has(child) ?? false },
    leaseTtlSeconds: 3600,
  };
  await store.upsertFleet({ id: 'acme' });
  for (const r of [
    { version: '1.4.0', destructive: false },
    { version: '1.5.0', destructive: false },
    { version: '1.6.0', destructive: true },
    { version: '2.0.0', destructive: false, requires: ['1.6.0'] },
  ]) {
    await store.upsertRelease(r);
  }
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

let hostId: string;
beforeEach(async () => {
  seq += 1;
  hostId = `h${seq}`;
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
});

const exec = (n: string) => `arn:aws:states:us-east-1:000000000000:execution:HostUpgrade:${n}`;
const outcome = (step: StepOutcome['step'], status: StepOutcome['status'], result: Record<string, unknown> | null = null, error: string | null = null): StepOutcome => ({
  step,
  status,
  commandId: `cmd-${step}`,
  result,
  error,
  message: error,
  outputUri: null,
});

/** A SHA-256 checksum in S3's base64 form (each part's; the composite adds `-<parts>`). */
const B64 = `${'A'.repeat(42)}Q=`;

async function upgradeThroughBackup(run: HostRunContext) {
  await recordStepOutcome({ run, outcome: outcome('preflight', 'Success', { currentVersion: '1.4.0', mixedVersions: false, dataBytesEstimate: 1000, mode: 'embedded' }), request: {} }, deps);
  const backup = { backupId: run.runId, dataKey: `backups/${hostId}/${run.runId}/data.tar.gz`, configKey: `backups/${hostId}/${run.runId}/config.tar.gz` };
  // the backup script's result line and complete-backup's verification, as the state machine carries them
  const result = {
    step: 'backup',
    ok: true,
    version: '1.4.0',
    data: { bytes: 10, sha256: 'a'.repeat(64), format: 'tar.gz', entries: 3, checksumSha256: `${B64}-1`, parts: [{ partNumber: 1, etag: 'e1', bytes: 10, checksumSha256: B64 }] },
    config: { bytes: 5, sha256: 'b'.repeat(64), checksumSha256: B64, entries: 2 },
  };
  const verification = {
    verified: true,
    reason: null,
    dataKey: backup.dataKey,
    configKey: backup.configKey,
    dataBytes: 10,
    dataSha256: 'a'.repeat(64),
    configBytes: 5,
    configSha256: 'b'.repeat(64),
    dataVersionId: `data-${run.runId}`,
    configVersionId: `config-${run.runId}`,
  };
  return recordStepOutcome({ run, outcome: outcome('backup', 'Success', result), backup: { ...backup, verification }, verification: true }, deps);
}

describe('beginUpgrade', () => {
  it('takes the lease and returns a run context without any secret', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('a1'), deps);
    expect(run).toMatchObject({ hostId, targetVersion: '1.5.0', fromVersion: '1.4.0', kind: 'upgrade', mode: 'embedded' });
    expect(run.runId).toBe(runIdFor(exec('a1')));
    expect((await store.getLease(hostId))?.token).toBe(run.leaseToken);
  });

  it('runs to the catalog\'s release when asked for v1.5.0 (one release, the catalog\'s spelling pulled)', async () => {
    const run = await beginUpgrade({ hostId, version: 'v1.5.0' }, exec('a1v'), deps);
    expect(run.targetVersion).toBe('1.5.0');
    expect((await store.getRun(run.runId)).targetVersion).toBe('1.5.0');
  });

  it('refuses a withdrawn release before taking the lease, and audits why', async () => {
    await store.upsertRelease({ version: '1.4.9', destructive: false });
    await store.withdrawRelease('1.4.9', 'breaks logins on external databases', 'cli:vendor');
    await expect(beginUpgrade({ hostId, version: '1.4.9' }, exec('aw'), deps)).rejects.toMatchObject({
      name: 'ReleaseWithdrawnError',
      message: 'release 1.4.9 was withdrawn: breaks logins on external databases',
    });
    expect(await store.getLease(hostId)).toBeNull();
    const [refused] = await store.listAudit({ hostId });
    expect(refused).toMatchObject({ action: 'upgrade.refused', details: { version: '1.4.9' } });
  });

  it('is idempotent when the Lambda is retried for the same execution', async () => {
    const a = await beginUpgrade({ hostId, version: '1.5.0' }, exec('a2'), deps);
    const b = await beginUpgrade({ hostId, version: '1.5.0' }, exec('a2'), deps);
    expect(b.runId).toBe(a.runId);
    expect(b.leaseToken).toBe(a.leaseToken);
  });

  it('refuses a second execution on the same host, naming the holder', async () => {
    await beginUpgrade({ hostId, version: '1.5.0' }, exec('first'), deps);
    await expect(beginUpgrade({ hostId, version: '1.5.0' }, exec('second'), deps)).rejects.toMatchObject({
      name: 'HostLockedError',
      message: expect.stringContaining('first'),
    });
  });

  it('refuses latest and hostile values before touching the registry', async () => {
    // the begin-run task itself, over a store that records every call made to it
    const touched: string[] = [];
    // an empty target: the store's own properties may be read-only, which a Proxy must mirror
    const watched = new Proxy({} as typeof store, {
      get: (_target, prop) => {
        const value = Reflect.get(store, prop, store) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          touched.push(String(prop));
          return (value as (...a: unknown[]) => unknown).apply(store, args);
        };
      },
    });
    const beginRun = createBeginRun(() => ({ ...deps, store: watched }));
    for (const version of ['latest', '1.5.0; rm -rf /', '$(id)']) {
      const err = await beginRun({ kind: 'upgrade', request: { hostId, version }, executionArn: exec('bad') }).catch((e: Error) => e);
      expect(err, version).toBeInstanceOf(InvalidTaskInputError);
      expect([...new Set((err as InvalidTaskInputError).fields)], version).toEqual(['request.version']);
    }
    expect(touched).toEqual([]);
    expect(await store.getLease(hostId)).toBeNull();
    // the same task with a good version does reach the registry: the spy sees calls when there are any
    await beginRun({ kind: 'upgrade', request: { hostId, version: '1.5.0' }, executionArn: exec('good') });
    expect(touched).toContain('acquireLease');
  });

  it('refuses unknown versions and destructive jumps without consent', async () => {
    await expect(beginUpgrade({ hostId, version: '9.9.9' }, exec('u'), deps)).rejects.toBeInstanceOf(UnknownReleaseError);
    await expect(beginUpgrade({ hostId, version: '1.6.0' }, exec('d'), deps)).rejects.toBeInstanceOf(DestructiveConsentRequiredError);
    const audit = await store.listAudit({ hostId });
    expect(audit.map((a) => a.action)).toEqual(['upgrade.refused', 'upgrade.refused']);
  });
});

describe('recordStepOutcome', () => {
  it('decides noop when preflight finds the target already running', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('n'), deps);
    const v = await recordStepOutcome({ run, outcome: outcome('preflight', 'Success', { currentVersion: '1.5.0', mixedVersions: false, mode: 'embedded' }) }, deps);
    expect(v).toMatchObject({ ok: true, decision: 'noop', fromVersion: '1.5.0' });
  });

  it('fails preflight on mixed service versions', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('m'), deps);
    const v = await recordStepOutcome({ run, outcome: outcome('preflight', 'Success', { currentVersion: null, mixedVersions: true, mode: 'embedded' }) }, deps);
    expect(v).toMatchObject({ ok: false, classification: 'preflight-failed' });
  });

  it('applies the release rules to the version the host really runs', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('r'), deps);
    // the registry said 1.4.0, the host says 1.6.0: 1.5.0 would be a downgrade
    const v = await recordStepOutcome({ run, outcome: outcome('preflight', 'Success', { currentVersion: '1.6.0', mixedVersions: false, mode: 'embedded' }) }, deps);
    expect(v.ok).toBe(false);
    expect(v.message).toMatch(/use a rollback/);
  });

  it('marks a verified backup, and a retried begin-run for the same execution returns the same run', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('b'), deps);
    expect(await upgradeThroughBackup(run)).toMatchObject({ ok: true });
    expect((await store.getBackup(run.runId)).status).toBe('verified');

    const run2 = await beginUpgrade({ hostId: `${hostId}`, version: '1.5.0' }, exec('b'), deps); // same execution → same run
    expect(run2.runId).toBe(run.runId);
  });

  it('never verifies an empty archive', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('e'), deps);
    const keys = { dataKey: 'backups/x/data.tar.gz', configKey: 'backups/x/config.tar.gz' };
    const verification = { verified: true, reason: null, ...keys, dataBytes: 20, dataSha256: 'a'.repeat(64), configBytes: 5, configSha256: 'b'.repeat(64), dataVersionId: null, configVersionId: null };
    const line = { step: 'backup', ok: true, data: { bytes: 20, sha256: 'a'.repeat(64), entries: 0, format: 'tar.gz', parts: [{ partNumber: 1, etag: 'e' }] }, config: { bytes: 5, sha256: 'b'.repeat(64) } };
    const v = await recordStepOutcome({ run, outcome: outcome('backup', 'Success', line), backup: { backupId: run.runId, ...keys, verification }, verification: true }, deps);
    expect(v).toMatchObject({ ok: false, classification: 'backup-failed' });
    expect((await store.getBackup(run.runId)).status).toBe('failed');
  });
});

describe('finishHostRun', () => {
  it('releases the lease after success and records the observed version', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('f1'), deps);
    await recordStepOutcome({ run, outcome: outcome('health-check', 'Success', { healthy: true }) }, deps);
    const s = await finishHostRun({ run, request: {}, outcome: 'succeeded', failedStep: null, verdict: null, error: null, backup: null, executionArn: exec('f1') }, deps);
    expect(s).toMatchObject({ outcome: 'succeeded', status: 'succeeded', version: '1.5.0' });
    expect(await store.getLease(hostId)).toBeNull();
    expect((await store.getHost(hostId)).observedVersion).toBe('1.5.0');
  });

  it('classifies from the failing step when the machine passes no outcome', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('f2'), deps);
    const s = await finishHostRun(
      { run, request: {}, outcome: null, failedStep: 'pull-images', verdict: { ok: false, classification: 'pull-failed', message: 'image not found' }, error: null, backup: null, executionArn: exec('f2') },
      deps,
    );
    expect(s).toMatchObject({ outcome: 'pull-failed', status: 'failed', failedStep: 'pull-images' });
    expect((await store.getRun(run.runId)).outcome).toBe('pull-failed');
  });

  it('classifies an unreachable host from the thrown error', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('f3'), deps);
    const s = await finishHostRun(
      { run, request: {}, outcome: null, failedStep: 'preflight', verdict: null, error: { Error: 'HostUnreachableError', Cause: JSON.stringify({ errorMessage: 'instance offline' }) }, backup: null, executionArn: exec('f3') },
      deps,
    );
    expect(s.outcome).toBe('unreachable');
    expect(s.message).toContain('instance offline');
  });

  it('quarantines the host and alerts when a rollback fails', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('f4'), deps);
    await upgradeThroughBackup(run);
    const finish = { run, request: {}, outcome: 'rollback-failed' as const, failedStep: null, verdict: null, error: null, backup: { backupId: run.runId }, executionArn: exec('f4') };
    await finishHostRun(finish, deps);
    await finishHostRun(finish, deps); // a retried task pages no one twice
    expect((await store.getHost(hostId)).locked).toBe(true);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toMatchObject({ event: 'ROLLBACK_FAILED', hostId });
    await expect(beginUpgrade({ hostId, version: '1.5.0' }, exec('f4-again'), deps)).rejects.toMatchObject({ name: 'HostQuarantinedError' });
  });

  // issue #12 item 3: quarantine and alert must never depend on still holding the lease
  it('quarantines and alerts on a failed restore even when the run lost its lease meanwhile', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('f5'), deps);
    await upgradeThroughBackup(run);
    // another execution takes the host over once the lease ran out: ttl 0 expires it at once
    await store.releaseLease(hostId, run.leaseToken);
    const other = await store.acquireLease(hostId, exec('f5-other'), 0);
    expect(other.token).not.toBe(run.leaseToken);
    const finish = finishHostRun(
      { run, request: {}, outcome: 'rollback-failed', failedStep: 'restore', verdict: null, error: null, backup: { backupId: run.runId }, executionArn: exec('f5') },
      deps,
    );
    await expect(finish).rejects.toMatchObject({ name: 'StaleLeaseError' });
    const host = await store.getHost(hostId);
    expect(host.locked).toBe(true);
    expect(host.lockedReason).toContain(run.runId);
    expect(alerts.map((a) => a.message)).toEqual([expect.objectContaining({ event: 'ROLLBACK_FAILED', hostId, runId: run.runId })]);
    await expect(beginUpgrade({ hostId, version: '1.5.0' }, exec('f5-next'), deps)).rejects.toMatchObject({ name: 'HostQuarantinedError' });
  });
});

describe('beginRollback', () => {
  it('restores the latest verified backup by default, under a new lease', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('r1'), deps);
    await upgradeThroughBackup(run);
    await finishHostRun({ run, request: {}, outcome: 'succeeded', failedStep: null, verdict: null, error: null, backup: null, executionArn: exec('r1') }, deps);
    const { run: rb, backup } = await beginRollback({ hostId, reason: 'operator asked' }, exec('rb1'), deps);
    // the versions verification read: a restore presigns exactly those
    expect(backup).toMatchObject({ backupId: run.runId, version: '1.4.0', dataVersionId: `data-${run.runId}`, configVersionId: `config-${run.runId}` });
    expect(rb).toMatchObject({ kind: 'rollback', targetVersion: '1.4.0' });
  });

  it('works under the parent run lease when started by HostUpgrade', async () => {
    const run = await beginUpgrade({ hostId, version: '1.5.0' }, exec('r2'), deps);
    await upgradeThroughBackup(run);
    const request = { hostId, reason: 'automatic', parentRunId: run.runId, leaseToken: run.leaseToken, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: exec('r2') };
    // named as parent, holding the lease, but its history does not show this child: refused
    await expect(beginRollback(request, exec('r2-restore'), deps)).rejects.toMatchObject({ name: 'NotStartedByLeaseHolderError' });
    start(exec('r2'), exec('r2-restore'));
    const { run: rb } = await beginRollback(request, exec('r2-restore'), deps);
    expect(rb.leaseToken).toBe(run.leaseToken);
    // the same token from a console execution, or naming another parent, opens nothing
    await expect(beginRollback({ ...request, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: undefined }, exec('console'), deps)).rejects.toMatchObject({ name: 'NotStartedByLeaseHolderError' });
    start(exec('other'), exec('other-child'));
    await expect(beginRollback({ ...request, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: exec('other') }, exec('other-child'), deps)).rejects.toMatchObject({ name: 'NotStartedByLeaseHolderError' });
  });

  async function upgradedTwice(n: string) {
    const first = await beginUpgrade({ hostId, version: '1.5.0' }, exec(`${n}-a`), deps);
    await upgradeThroughBackup(first);
    await finishHostRun({ run: first, request: {}, outcome: 'succeeded', failedStep: null, verdict: null, error: null, backup: null, executionArn: exec(`${n}-a`) }, deps);
    await store.recordObservedVersion(hostId, '1.5.0'); // the health check reports the running version
    const later = await beginUpgrade({ hostId, version: '1.6.0', allowDestructive: true }, exec(`${n}-b`), deps);
    await finishHostRun({ run: later, request: {}, outcome: 'succeeded', failedStep: null, verdict: null, error: null, backup: null, executionArn: exec(`${n}-b`) }, deps);
    await store.recordObservedVersion(hostId, '1.6.0');
    return { first, later };
  }

  it('refuses to restore a backup over a later upgrade of the host, naming that run, and takes no lease', async () => {
    const { first, later } = await upgradedTwice('n1');
    const refusal = beginRollback({ hostId, reason: 'operator asked', backupId: first.runId }, exec('n1-rb'), deps);
    await expect(refusal).rejects.toMatchObject({ name: 'NewerChangesError' });
    await expect(refusal).rejects.toThrow(new RegExp(`${later.runId}.*upgrade 1\\.5\\.0 → 1\\.6\\.0`));
    expect(await store.listRuns({ hostId })).toHaveLength(2);
    const lease = await store.acquireLease(hostId, exec('n1-probe'), 60);
    expect(lease.token).toBeGreaterThan(later.leaseToken);
  });

  it('restores over a later upgrade when forced, and audits the runs it discards', async () => {
    const { first, later } = await upgradedTwice('n2');
    const { backup } = await beginRollback({ hostId, reason: 'operator asked', backupId: first.runId, force: true }, exec('n2-rb'), deps);
    expect(backup.backupId).toBe(first.runId);
    const audit = await store.listAudit({ hostId });
    const started = audit.find((a) => a.action === 'rollback.started');
    expect(started?.details).toMatchObject({ force: true, discards: [expect.objectContaining({ runId: later.runId, kind: 'upgrade', from: '1.5.0', to: '1.6.0' })] });
  });

  it('never refuses the restore branch of an upgrade: the backup it restores is its own run\'s', async () => {
    const { later } = await upgradedTwice('n3');
    const again = await beginUpgrade({ hostId, version: '2.0.0' }, exec('n3-c'), deps);
    await upgradeThroughBackup(again);
    start(exec('n3-c'), exec('n3-restore')); // the upgrade started its restore child (parent proof)
    const { backup } = await beginRollback(
      { hostId, reason: 'automatic', backupId: again.runId, parentRunId: again.runId, leaseToken: again.leaseToken, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: exec('n3-c') },
      exec('n3-restore'),
      deps,
    );
    expect(backup.backupId).toBe(again.runId);
    expect(later.runId).not.toBe(again.runId);
  });

  it('refuses a version with no verified backup', async () => {
    await expect(beginRollback({ hostId, reason: 'x', toVersion: '1.0.0' }, exec('r3'), deps)).rejects.toBeInstanceOf(NoUsableBackupError);
  });
});
