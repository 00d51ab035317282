/**
 * `fleetwave rollback --to-version` from the CLI, in-process against the lab
 * (lab.json in FLEETWAVE_LAB_DIR, as `lab up` writes it): two versions back,
 * across the destructive 1.6.0 that dropped dashboards.legacy_notes. That
 * discards the later 1.5.0 → 1.6.0 upgrade, so it is refused until --force.
 * Both database modes, side by side.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { dataChecksums, dataSchemaVersion, runningVersions } from '../../lab/hosts';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab();
}, 240_000);
afterAll(async () => {
  await t?.close();
});

type BackupJson = { id: string; version: string; mode: string; status: string; verified: boolean; takenAt: string; createdAt: number; dataBytes: number };

describe.concurrent.each(['embedded', 'external'] as const)('fleetwave rollback --to-version, %s database', (mode) => {
  it('refuses to discard the later 1.6.0 upgrade without --force, then brings the host back to 1.4.0 with the dropped column and every row as they were', async ({ expect }) => {
    const [host] = await t.addHosts(`rbcli-${mode}`, [{ id: `rbcli-${mode}`, tier: 'production', mode, version: '1.4.0' }]);
    const h = host!;
    const at140 = await dataChecksums(h.root);
    expect((await t.upgrade(h.id, '1.5.0')).status).toBe('SUCCEEDED');
    const at150 = await dataChecksums(h.root);
    const up = await t.upgrade(h.id, '1.6.0', { allowDestructive: true });
    expect(up.status).toBe('SUCCEEDED');
    expect(await dataSchemaVersion(h.root)).toBe('1.6.0');
    expect((await dataChecksums(h.root)).dashboards).not.toBe(at140.dashboards); // legacy_notes dropped

    pointCliAtLab(t);
    const at160 = await dataChecksums(h.root);
    const [later] = await t.lab.store.listRuns({ hostId: h.id, limit: 1 });
    const [, backupA] = await t.lab.store.listBackups(h.id); // taken before 1.5.0
    const refused = await runCli(['rollback', '--host', h.id, '--backup', backupA!.id, '--wait', '--json']);
    expect(refused.code, refused.stdout).toBe(2);
    expect(refused.stderr).toContain(`would discard a later change: run ${later!.id} (upgrade 1.5.0 → 1.6.0, finished `);
    expect(refused.stderr).toContain('--force');
    expect(await dataChecksums(h.root)).toEqual(at160);
    expect(Object.values(runningVersions(h.root))).toEqual(['1.6.0', '1.6.0', '1.6.0']);
    expect((await t.lab.store.listRuns({ hostId: h.id, limit: 1 }))[0]!.id).toBe(later!.id); // nothing started

    const r = await runCli(['rollback', '--host', h.id, '--to-version', '1.4.0', '--force', '--wait', '--json']);

    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf(r)).toMatchObject({ hostId: h.id, status: 'SUCCEEDED', outcome: 'restored', exitCode: 0 });
    expect(Object.values(runningVersions(h.root))).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect(await dataSchemaVersion(h.root)).toBe('1.4.0');
    // checksums cover every column, so equality means legacy_notes is back with its values
    expect(await dataChecksums(h.root)).toEqual(at140);
    expect((await fetch(h.healthUrl)).status).toBe(200);
    const [run] = await t.lab.store.listRuns({ hostId: h.id, limit: 1 });
    expect(run).toMatchObject({ kind: 'rollback', status: 'succeeded', fromVersion: '1.6.0', targetVersion: '1.4.0' });
    expect(at150).not.toEqual(at140);

    const listed = await runCli(['backups', 'list', '--host', h.id, '--json']);
    expect(listed.code).toBe(0);
    const backups = jsonOf<BackupJson[]>(listed);
    // newest first: the one taken before 1.6.0 (data at 1.5.0), then the one taken before 1.5.0
    expect(backups.map((b) => [b.version, b.mode, b.verified, b.status])).toEqual([
      ['1.5.0', mode, true, 'verified'],
      ['1.4.0', mode, true, 'verified'],
    ]);
    for (const b of backups) {
      expect(b.dataBytes).toBeGreaterThan(0);
      expect(Date.parse(b.takenAt)).toBe(b.createdAt);
    }
    expect(backups[0]!.createdAt).toBeGreaterThan(backups[1]!.createdAt);

    const table = await runCli(['backups', 'list', '--host', h.id]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['BACKUP', 'VERSION', 'TAKEN', 'SIZE', 'MODE', 'VERIFIED']);
    expect(lines.slice(2).map((l) => l.split(/\s+/).filter((c) => ['1.4.0', '1.5.0', mode, 'yes'].includes(c)))).toEqual([
      ['1.5.0', mode, 'yes'],
      ['1.4.0', mode, 'yes'],
    ]);
  }, 300_000);
});
