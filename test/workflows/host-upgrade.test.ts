/**
 * HostUpgrade in the lab, success paths: the synthesized state machine, the
 * bundled Lambda tasks, the SSM documents in bash against simulated hosts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataTables, keptRows, runningVersions } from '../../lab/hosts';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe.each(['embedded', 'external'] as const)('HostUpgrade, %s database', (mode) => {
  it('upgrades, records a verified backup and the new version, and keeps every row', async () => {
    const [host] = await t.addHosts(`ok-${mode}`, [{ id: `ok-${mode}`, tier: 'staging', mode, version: '1.4.0' }]);
    const before = await dataTables(host!.root);

    const r = await t.upgrade(host!.id, '1.5.0');

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ outcome: 'succeeded', version: '1.5.0', hostId: host!.id });
    expect(Object.values(runningVersions(host!.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    expect((await t.lab.store.getHost(host!.id)).observedVersion).toBe('1.5.0');
    const [backup] = await t.lab.store.listBackups(host!.id);
    expect(backup).toMatchObject({ status: 'verified', version: '1.4.0', mode });
    // 1.5.0 only adds users.last_login: every row keeps every value it had
    const after = await dataTables(host!.root);
    const kept = keptRows(before, after);
    expect(kept.lostColumns).toEqual([]);
    expect(kept.before).toMatchObject({ dashboards: { rows: 6 }, users: { rows: 4 } });
    expect(kept.after).toEqual(kept.before);
    expect(after.users?.columns).toContain('last_login');
  });

  it('is a no-op that only verifies when the host already runs the target', async () => {
    const [host] = await t.addHosts(`noop-${mode}`, [{ id: `noop-${mode}`, tier: 'staging', mode, version: '1.5.0' }]);
    const r = await t.upgrade(host!.id, '1.5.0');
    expect(r.output).toMatchObject({ outcome: 'noop' });
    expect(await t.lab.store.listBackups(host!.id)).toEqual([]);
    const sent = t.lab.ssm.sentCommands().filter((c) => c.instanceIds.includes(host!.instanceId)).map((c) => c.documentName);
    expect(sent).toEqual(['Fleetwave-Preflight', 'Fleetwave-HealthCheck']);
  });
});
