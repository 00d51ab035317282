/**
 * What README tells an operator to do, and nothing else, from an empty
 * registry: the CLI in-process against a lab started without a release
 * catalog (an AWS account's first day). `release apply` the vendor's file,
 * `fleet apply` a fleet file, `rollout start`; then a restore that fails
 * quarantines a staging host and halts its rollout, `host show` says why,
 * `host unlock` lets it go, and the rollout resumes and finishes. Also: a
 * host the fleet file drops is retired, and a withdrawn release is refused and
 * flagged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fleetFileEntry, LAB_HEALTH_CHECK, type LabFleetHost } from '../../lab/fleet';
import { runningVersions, setFaults } from '../../lab/hosts';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
let dir: string;
const RELEASES = new URL('../../releases/semaphor.json', import.meta.url).pathname;

beforeAll(async () => {
  t = await startTestLab({ registerReleases: false });
  dir = mkdtempSync(join(tmpdir(), 'fw-operator-'));
}, 240_000);
afterAll(async () => {
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const versions = (h: LabFleetHost) => Object.values(runningVersions(h.root));

/** The fleet file an operator writes for these hosts. */
function fleetFile(name: string, hosts: LabFleetHost[], settings: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}-${Date.now()}.yaml`);
  writeFileSync(file, stringify({ fleet: name, hosts: hosts.map(fleetFileEntry), healthCheck: LAB_HEALTH_CHECK, ...settings }));
  return file;
}

describe("an operator's first day", () => {
  let hosts: LabFleetHost[];

  it('starts from an empty registry; the lab registered nothing behind the operator', async () => {
    expect(await t.lab.store.listReleases()).toEqual([]);
    expect(await t.lab.store.listFleets()).toEqual([]);
    expect(await t.lab.store.listHosts({ includeRetired: true })).toEqual([]);
  });

  it('release apply, fleet apply, rollout start: the rollout succeeds', async () => {
    hosts = await t.startHosts([
      { id: 'ops-s1', tier: 'staging', mode: 'embedded', version: '1.4.0' },
      { id: 'ops-p1', tier: 'production', mode: 'external', version: '1.4.0' },
      { id: 'ops-p2', tier: 'production', mode: 'embedded', version: '1.4.0' },
    ]);
    pointCliAtLab(t);
    const file = fleetFile('ops', hosts, { concurrency: 2 });

    const dry = await runCli(['fleet', 'apply', file, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('ops: new fleet, 3 added, 0 changed, 0 retired, 0 reinstated, 0 unchanged (dry run, nothing written)');
    expect(dry.stdout).toMatch(/\n1\s+canary\s+production\s+1\s+0\s/);
    expect(await t.lab.store.listFleets()).toEqual([]);

    const applied = await runCli(['fleet', 'apply', file, '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(jsonOf<{ changes: { added: string[] } }>(applied).changes.added).toEqual(['ops-s1', 'ops-p1', 'ops-p2']);
    // a real host's version is unknown until something reads it
    expect((await t.lab.store.listHosts({ fleetId: 'ops' })).map((h) => h.observedVersion)).toEqual([null, null, null]);

    // the step README's deploy section gives first: without it, nothing can be upgraded
    const early = await runCli(['rollout', 'start', '--fleet', 'ops', '--version', '1.5.0']);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/--version: version 1\.5\.0 is not in the release catalog .*release apply/);

    const catalog = await runCli(['release', 'apply', RELEASES]);
    expect(catalog.code, catalog.stderr).toBe(0);
    expect(catalog.stdout).toMatch(/added\s+6: 1\.4\.0, 1\.4\.1, 1\.5\.0, 1\.6\.0, 1\.6\.1, 2\.0\.0/);
    const listed = jsonOf<{ version: string; destructive: boolean }[]>(await runCli(['release', 'list', '--json']));
    expect(listed.find((r) => r.version === '1.6.0')?.destructive).toBe(true);

    // v1.5.0 is 1.5.0: the same release, the same rollout, the catalog's tag pulled
    const r = await runCli(['rollout', 'start', '--fleet', 'ops', '--version', 'v1.5.0', '--wait', '--json']);

    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf(r)).toMatchObject({ rolloutId: 'ops-1-5-0', version: '1.5.0', status: 'succeeded' });
    for (const h of hosts) expect(versions(h), h.id).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    expect((await t.lab.store.listHosts({ fleetId: 'ops' })).map((h) => h.observedVersion)).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    const trail = (await t.lab.store.listAudit({ limit: 1000 })).map((a) => a.action);
    expect(trail.filter((a) => a === 'release.added')).toHaveLength(6);
    expect(trail).toContain('fleet.applied');
  }, 300_000);

  it('retires a host the fleet file no longer lists: out of the fleet, history kept', async () => {
    const dropped = hosts.find((h) => h.id === 'ops-p2')!;
    const r = await runCli(['fleet', 'apply', fleetFile('ops', hosts.filter((h) => h !== dropped), { concurrency: 2 })]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 retired');

    const status = jsonOf<{ host: string }[]>(await runCli(['status', '--fleet', 'ops', '--json']));
    expect(status.map((s) => s.host)).toEqual(['ops-p1', 'ops-s1']);
    const shown = jsonOf<{ state: string; runs: { targetVersion: string; outcome: string }[] }>(await runCli(['host', 'show', 'ops-p2', '--json']));
    expect(shown.state).toBe('retired');
    expect(shown.runs.map((x) => `${x.targetVersion} ${x.outcome}`)).toEqual(['1.5.0 succeeded']);
    const up = await runCli(['host', 'upgrade', '--host', 'ops-p2', '--version', '1.5.0', '--wait', '--json']);
    expect(up.code).toBe(2);
    expect(jsonOf<{ outcome: string }>(up).outcome).toBe('refused (HostRetiredError)');
  }, 120_000);

  it('a withdrawn release is refused for new upgrades and flagged where it runs', async () => {
    const w = await runCli(['release', 'withdraw', '1.5.0', '--reason', 'logins fail after an hour']);
    expect(w.code, w.stderr).toBe(0);

    const refused = await runCli(['rollout', 'start', '--fleet', 'ops', '--version', '1.5.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('release 1.5.0 was withdrawn: logins fail after an hour');

    const check = await runCli(['compliance', 'run', '--fleet', 'ops', '--wait', '--json']);
    expect(check.code, check.stderr).toBe(0);
    const results = jsonOf<{ results: { hostId: string; reasons: string[] }[] }>(check).results;
    // the retired host is not checked
    expect(results.map((x) => [x.hostId, x.reasons])).toEqual([
      ['ops-p1', ['withdrawn-release']],
      ['ops-s1', ['withdrawn-release']],
    ]);
  }, 120_000);
});

describe('quarantine, unlock, resume', () => {
  it('a failed restore halts the rollout; host show says why; unlock and a rollback by hand let the rollout resume and finish', async () => {
    const [stg, prod] = await t.startHosts([
      { id: 'qr-s1', tier: 'staging', mode: 'embedded', version: '1.4.0', faults: { schemaSyncFails: true, restoreFails: true } },
      { id: 'qr-p1', tier: 'production', mode: 'embedded', version: '1.4.0' },
    ]);
    pointCliAtLab(t);
    const waves = [
      { tier: 'staging', hosts: '100%', failureThreshold: 0 },
      { tier: 'production', hosts: '100%', failureThreshold: 0 },
    ];
    expect((await runCli(['fleet', 'apply', fleetFile('qr', [stg!, prod!], { waves })])).code).toBe(0);

    const first = await runCli(['rollout', 'start', '--fleet', 'qr', '--version', '1.4.1', '--wait', '--json']);
    expect(first.code).not.toBe(0);
    expect(jsonOf(first)).toMatchObject({ status: 'halted', waves: [{ hosts: [{ hostId: 'qr-s1', result: 'rollback-failed' }] }, { hosts: [{ hostId: 'qr-p1', result: 'pending' }] }] });

    // the alert names the commands that exist
    const alert = t.lab.sns.published().find((a) => a.subject === 'fleetwave: ROLLBACK_FAILED on qr-s1');
    const action = String((JSON.parse(alert!.message) as { action: string }).action);
    expect(action).toContain('fleetwave host show qr-s1');
    expect(action).toContain('fleetwave host unlock --host qr-s1 --reason');

    const shown = await runCli(['host', 'show', 'qr-s1']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/state\s+QUARANTINED: rollback failed during run /);
    expect(shown.stdout).toMatch(/upgrade .* → 1\.4\.1\s+rollback-failed/);
    const again = await runCli(['rollout', 'start', '--fleet', 'qr', '--version', '1.4.1', '--wait', '--json']);
    // while the host is quarantined the rollout cannot get past staging
    expect(jsonOf(again)).toMatchObject({ status: 'halted', waves: [{ status: 'failed' }, { hosts: [{ hostId: 'qr-p1', result: 'pending' }] }] });

    // the operator repairs the host, lifts the quarantine, restores it by hand, and resumes
    await setFaults(stg!.root, {});
    const unlocked = await runCli(['host', 'unlock', '--host', 'qr-s1', '--reason', 'disk replaced; restoring from the verified backup']);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect((await t.lab.store.listAudit({ hostId: 'qr-s1', limit: 1 }))[0]).toMatchObject({ action: 'host.unlocked', details: { reason: 'disk replaced; restoring from the verified backup' } });
    const restored = await runCli(['rollback', '--host', 'qr-s1', '--wait', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(versions(stg!)).toEqual(['1.4.0', '1.4.0', '1.4.0']);

    const resumed = await runCli(['rollout', 'start', '--fleet', 'qr', '--version', '1.4.1', '--wait', '--json']);

    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonOf(resumed)).toMatchObject({ status: 'succeeded', waves: [{ hosts: [{ hostId: 'qr-s1', result: 'succeeded' }] }, { hosts: [{ hostId: 'qr-p1', result: 'succeeded' }] }] });
    for (const h of [stg!, prod!]) expect(versions(h), h.id).toEqual(['1.4.1', '1.4.1', '1.4.1']);
  }, 420_000);
});

describe('the lab registers its fleets as an operator does', () => {
  it('through fleet apply: checked like a fleet file, audited, and the host version unknown', async () => {
    await expect(t.addHosts('labreg', [], { healthCheck: { passes: 100 } })).rejects.toMatchObject({
      name: 'FleetFileError',
      message: expect.stringContaining('healthCheck: 100 passes 5 s apart take 500 s'),
    });
    const [h] = await t.addHosts('labreg', [{ id: 'labreg-1', tier: 'staging', mode: 'embedded', version: '1.4.0' }]);

    expect(await t.lab.store.getHost(h!.id)).toMatchObject({ fleetId: 'labreg', observedVersion: null });
    const trail = await t.lab.store.listAudit({ hostId: h!.id });
    expect(trail.map((a) => [a.action, a.actor])).toEqual([['host.added', 'lab']]);
    expect((await t.lab.store.listAudit({ limit: 1000 })).some((a) => a.action === 'fleet.applied' && a.actor === 'lab' && a.details.fleet === 'labreg')).toBe(true);
  }, 120_000);
});

