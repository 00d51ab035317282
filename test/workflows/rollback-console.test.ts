/**
 * HostRollback started the way an operator starts it from the Step Functions
 * console: exactly the documented input (state-machines/host-rollback.ts),
 * `{"hostId", "reason"}` and `{"hostId", "backupId", "reason"}`, after a
 * successful upgrade. Both database modes; the modes run side by side. And an
 * operator's HostRollback whose restore fails: it quarantines the host and
 * raises its own ROLLBACK_FAILED alert (no HostUpgrade above it to do so).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { dataChecksums, dataSchemaVersion, runningVersions, setFaults } from '../../lab/hosts';
import { openStore } from '../../lab/hosts/data-store';
import { paths, readContainers, readEnvFile, volumeName } from '../../lab/hosts/state';
import type { LabFleetHost } from '../../lab/fleet';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab();
}, 240_000);
afterAll(async () => {
  await t?.close();
});

/** An operator's write between two upgrades: one more dashboard row. */
async function addDashboard(host: LabFleetHost, id: number): Promise<void> {
  const p = paths(host.root);
  const env = readEnvFile(join(p.composeDir, 'semaphor.env'));
  const store = await openStore({ databaseUrl: env.DATABASE_URL, volumeDir: p.volume(volumeName(readContainers(host.root)?.project ?? 'semaphor')) });
  try {
    await store.insertRows('dashboards', [{ id, name: `added after the rollback ${id}`, legacy_notes: 'kept by backup 2 only', created_at: '2025-01-01T00:00:00.000Z' }]);
  } finally {
    await store.close();
  }
}

async function health(host: LabFleetHost): Promise<{ status: number; body: { status?: string; version?: string } }> {
  const res = await fetch(host.healthUrl);
  return { status: res.status, body: (await res.json()) as { status?: string; version?: string } };
}

type BackupJson = { id: string; version: string; mode: string; status: string; verified: boolean; takenAt: string; dataBytes: number };

describe.each(['embedded', 'external'] as const)('HostRollback from the console, %s database', (mode) => {
  it('restores the backup taken before the upgrade, then a chosen older backup by id only when forced over the later upgrade', async ({ expect }) => {
    const [host] = await t.addHosts(`rbc-${mode}`, [{ id: `rbc-${mode}`, tier: 'production', mode, version: '1.4.0' }]);
    const h = host!;
    const atFirstBackup = await dataChecksums(h.root);

    const up = await t.upgrade(h.id, '1.5.0');
    expect(up.status).toBe('SUCCEEDED');
    const [first] = await t.lab.store.listBackups(h.id);
    expect(first).toMatchObject({ status: 'verified', version: '1.4.0', mode });
    expect(await dataChecksums(h.root)).not.toEqual(atFirstBackup); // 1.5.0 added users.last_login

    // exactly what the docblock tells an operator to paste
    const rb = await t.rollback({ hostId: h.id, reason: 'console: users report missing logins after 1.5.0' });

    expect(rb.status).toBe('SUCCEEDED');
    expect(rb.output).toMatchObject({ status: 'restored', hostId: h.id, version: '1.4.0', backupId: first!.id });
    expect(Object.values(runningVersions(h.root))).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect(await health(h)).toEqual({ status: 200, body: { status: 'ok', version: '1.4.0' } });
    expect(await dataChecksums(h.root)).toEqual(atFirstBackup);
    expect(await dataSchemaVersion(h.root)).toBe('1.4.0');
    expect((await t.lab.store.getHost(h.id)).observedVersion).toBe('1.4.0');
    const [run] = await t.lab.store.listRuns({ hostId: h.id, limit: 1 });
    expect(run).toMatchObject({ kind: 'rollback', status: 'succeeded', outcome: 'succeeded', fromVersion: '1.5.0', targetVersion: '1.4.0', executionArn: rb.executionArn });
    expect(await t.lab.store.getLease(h.id).then((l) => l === null || l.expired)).toBe(true);
    const started = (await t.lab.store.listAudit({ hostId: h.id })).find((a) => a.action === 'rollback.started');
    expect(started?.details).toMatchObject({ backupId: first!.id, reason: 'console: users report missing logins after 1.5.0' });

    // a rollback takes no backup of its own: still exactly the one
    pointCliAtLab(t);
    const listed = await runCli(['backups', 'list', '--host', h.id, '--json']);
    expect(listed.code).toBe(0);
    expect(jsonOf<BackupJson[]>(listed).map((b) => [b.id, b.version, b.verified])).toEqual([[first!.id, '1.4.0', true]]);

    // new data, a second upgrade and so a second 1.4.0 backup that holds the new row
    await addDashboard(h, 100);
    const withNewRow = await dataChecksums(h.root);
    expect(withNewRow).not.toEqual(atFirstBackup);
    expect((await t.upgrade(h.id, '1.5.0')).status).toBe('SUCCEEDED');
    const backups = await t.lab.store.listBackups(h.id);
    expect(backups.map((b) => b.id)).toEqual([expect.any(String), first!.id]); // newest first
    const second = backups[0]!;

    // {hostId, backupId, reason}: the first backup would discard the second upgrade (and the row
    // written before it), so HostRollback refuses it, names that run and leaves the host alone
    const [secondUpgrade] = await t.lab.store.listRuns({ hostId: h.id, limit: 1 });
    const atSecond = await dataChecksums(h.root);
    const refused = await t.rollback({ hostId: h.id, backupId: first!.id, reason: 'console: restore the pre-1.5.0 state of the first upgrade' });
    expect({ status: refused.status, error: refused.error }).toEqual({ status: 'FAILED', error: 'NewerChangesError' });
    expect(refused.cause).toContain(`run ${secondUpgrade!.id} (upgrade 1.4.0 → 1.5.0`);
    expect(await dataChecksums(h.root)).toEqual(atSecond);
    expect(Object.values(runningVersions(h.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);

    // {..., force: true}: restored anyway, and the audit names what was discarded
    const byId = await t.rollback({ hostId: h.id, backupId: first!.id, force: true, reason: 'console: restore the pre-1.5.0 state of the first upgrade' });

    expect(byId.status).toBe('SUCCEEDED');
    expect(byId.output).toMatchObject({ status: 'restored', version: '1.4.0', backupId: first!.id });
    expect(await dataChecksums(h.root)).toEqual(atFirstBackup); // the row only backup 2 holds is gone
    const forced = (await t.lab.store.listAudit({ hostId: h.id })).find((a) => a.action === 'rollback.started' && a.details.force === true);
    expect(forced?.details).toMatchObject({ backupId: first!.id, discards: [expect.objectContaining({ runId: secondUpgrade!.id, kind: 'upgrade' })] });
    expect(Object.values(runningVersions(h.root))).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect((await health(h)).status).toBe(200);

    const after = jsonOf<BackupJson[]>(await runCli(['backups', 'list', '--host', h.id, '--json']));
    expect(after.map((b) => [b.id, b.version, b.mode, b.verified])).toEqual([
      [second.id, '1.4.0', mode, true],
      [first!.id, '1.4.0', mode, true],
    ]);
  }, 300_000); // four host operations; minutes on two loaded cores
});

describe('an operator\'s HostRollback that fails', () => {
  it('ends RollbackFailed: the host quarantined, its own ROLLBACK_FAILED alert, the lease released, the host put back as it was', async ({ expect }) => {
    const [host] = await t.addHosts('rbc-fails', [{ id: 'rbc-fails', tier: 'production', mode: 'embedded', version: '1.4.0' }]);
    const h = host!;
    expect((await t.upgrade(h.id, '1.5.0')).status).toBe('SUCCEEDED');
    const [backup] = await t.lab.store.listBackups(h.id);
    const upgraded = await dataChecksums(h.root);
    await setFaults(h.root, { restoreFails: true });

    const rb = await t.rollback({ hostId: h.id, reason: 'console: roll back 1.5.0' });

    expect({ status: rb.status, error: rb.error }, `cause: ${rb.cause}`).toEqual({ status: 'FAILED', error: 'RollbackFailed' });
    const [run] = await t.lab.store.listRuns({ hostId: h.id, limit: 1 });
    expect(run).toMatchObject({ kind: 'rollback', status: 'failed', outcome: 'rollback-failed', failedStep: 'restore', executionArn: rb.executionArn });
    const quarantined = await t.lab.store.getHost(h.id);
    expect(quarantined.locked).toBe(true);
    expect(quarantined.lockedReason).toContain(`rollback failed during run ${run!.id}`);
    // no HostUpgrade above this rollback: it raises the one alert itself
    const alerts = t.lab.sns.published().filter((a) => a.subject?.includes(h.id));
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0]!.message)).toMatchObject({ event: 'ROLLBACK_FAILED', hostId: h.id, runId: run!.id, execution: rb.executionArn });
    expect(await t.lab.store.getLease(h.id)).toBeNull();
    // the failed restore put the host back as it was before it began (issue #12 item 2): 1.5.0 running on its data
    expect(Object.values(runningVersions(h.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    expect(await dataChecksums(h.root)).toEqual(upgraded);
    // the backup is untouched, and the quarantine holds: the next upgrade is refused before anything is sent
    expect(await t.lab.store.listBackups(h.id)).toEqual([backup]);
    await setFaults(h.root, {});
    const retry = await t.upgrade(h.id, '1.5.0');
    expect({ status: retry.status, error: retry.error }).toEqual({ status: 'FAILED', error: 'HostQuarantinedError' });
  }, 300_000); // an upgrade, a failing rollback, a refusal; minutes on two loaded cores
});
