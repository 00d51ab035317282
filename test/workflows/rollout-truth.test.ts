/**
 * Rollouts that tell the truth (issue 15), in the lab through the CLI as an
 * operator types it: a rollback with one host's restore failing exits 4 and
 * names that host; a rolled-back rollout started again upgrades every host
 * again; a host added mid-rollout (fleet apply) is upgraded on resume, a
 * retired one never touched, consent kept; a rollout whose execution was
 * stopped from the console (StopExecution) is reconciled by the next command.
 */
import { ListExecutionsCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLabFleet, fleetFileEntry, type LabHostSpec } from '../../lab/fleet';
import { runningVersions, setFaults } from '../../lab/hosts';
import { jsonOf, pointCliAtLab, runCli } from '../support/cli';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
const host = (id: string) => t.hosts.find((h) => h.id === id)!;
const versions = (id: string) => Object.values(runningVersions(host(id).root));
const on = (v: string) => [v, v, v];

const specs = (prefix: string, staging: number, production: number): LabHostSpec[] => [
  ...Array.from({ length: staging }, (_, i) => ({ id: `${prefix}-s${i + 1}`, tier: 'staging' as const, mode: 'embedded' as const, version: '1.4.0' })),
  ...Array.from({ length: production }, (_, i) => ({ id: `${prefix}-p${i + 1}`, tier: 'production' as const, mode: i % 2 ? ('external' as const) : ('embedded' as const), version: '1.4.0' })),
];
const waves = [
  { tier: 'staging', hosts: '100%', failureThreshold: 0 },
  { tier: 'production', hosts: '100%', failureThreshold: 0 },
];

async function waitForStatus(rolloutId: string, status: string) {
  for (let i = 0; i < 1200; i++) {
    if ((await t.lab.store.findRollout(rolloutId))?.status === status) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`rollout ${rolloutId} never became ${status} (is ${(await t.lab.store.findRollout(rolloutId))?.status})`);
}

const upgradeExecutions = async (hostId: string) =>
  ((await t.sfn.send(new ListExecutionsCommand({ stateMachineArn: t.lab.stateMachines.hostUpgrade, maxResults: 1000 }))).executions ?? []).filter((e) =>
    e.name!.includes(`--${hostId}--`),
  );

beforeAll(async () => {
  t = await startTestLab();
  await t.addHosts('rbf', specs('rbf', 1, 2), { concurrency: 3, waves });
  await t.addHosts('again', specs('again', 1, 1), { concurrency: 2, waves });
  await t.addHosts('grow', specs('grow', 1, 2), { concurrency: 2, waves, approvalBeforeProduction: true });
  await t.addHosts('kill', specs('kill', 1, 1), { concurrency: 2, waves, approvalBeforeProduction: true });
  await t.addHosts('sweep', specs('sweep', 1, 1), { concurrency: 2, waves, approvalBeforeProduction: true });
  pointCliAtLab(t);
}, 300_000);

afterAll(async () => {
  await t?.close();
});

describe('a rollout tells the truth', () => {
  it('rolls out, then a rollback with one host\'s restore failing fails, exits 4 and names that host; status shows each host\'s last outcome', async () => {
    const up = await runCli(['rollout', 'start', '--fleet', 'rbf', '--version', '1.5.0', '--wait', '--json']);
    expect(up.code, up.stderr).toBe(0);
    for (const id of ['rbf-s1', 'rbf-p1', 'rbf-p2']) expect(versions(id)).toEqual(on('1.5.0'));
    await setFaults(host('rbf-p2').root, { restoreFails: true });

    const r = await runCli(['rollback', '--rollout', 'rbf-1-5-0', '--wait', '--json']);

    expect(r.code, r.stderr).toBe(4);
    const out = jsonOf<{ status: string; execution: { status: string; error: string; cause: string }; rollbackFailed: { hostId: string }[] }>(r);
    expect(out.execution).toMatchObject({ status: 'FAILED', error: 'RollbackFailed' });
    expect(out.execution.cause).toContain('rbf-p2');
    expect(out.rollbackFailed.map((h) => h.hostId)).toEqual(['rbf-p2']);
    expect(out.status).toBe('failed');
    expect(versions('rbf-s1')).toEqual(on('1.4.0'));
    expect(versions('rbf-p1')).toEqual(on('1.4.0'));

    const status = await runCli(['rollout', 'status', '--rollout', 'rbf-1-5-0']);
    expect(status.code).toBe(0);
    const row = (id: string) => status.stdout.split('\n').find((l) => l.includes(` ${id} `)) ?? '';
    expect(row('rbf-p2')).toMatch(/rollback-failed\s+rollback-failed/);
    expect(row('rbf-p1')).toMatch(/rolled-back\s+restored/);
  }, 600_000);

  it('rolls back cleanly, then a start upgrades every host again', async () => {
    expect((await runCli(['rollout', 'start', '--fleet', 'again', '--version', '1.5.0', '--wait', '--json'])).code).toBe(0);
    const back = await runCli(['rollback', '--rollout', 'again-1-5-0', '--wait', '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(versions('again-s1')).toEqual(on('1.4.0'));
    expect(versions('again-p1')).toEqual(on('1.4.0'));

    const r = await runCli(['rollout', 'start', '--fleet', 'again', '--version', '1.5.0', '--wait', '--json']);

    expect(r.code, r.stderr).toBe(0);
    expect(jsonOf<{ status: string; attempt: number }>(r)).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(versions('again-s1')).toEqual(on('1.5.0'));
    expect(versions('again-p1')).toEqual(on('1.5.0'));
    const audit = (await t.lab.store.listAudit({ rolloutId: 'again-1-5-0', limit: 100 })).map((a) => a.action);
    expect(audit).toEqual(expect.arrayContaining(['rollout.started', 'rollout.rolling-back', 'rollout.rolled-back', 'rollout.resumed', 'rollout.succeeded']));
  }, 600_000);

  it('a resume plans against the fleet now: an added host is upgraded, a retired one never touched, consent cannot change', async () => {
    const first = await runCli(['rollout', 'start', '--fleet', 'grow', '--version', '1.5.0', '--json']);
    expect(first.code, first.stderr).toBe(0);
    await waitForStatus('grow-1-5-0', 'awaiting-approval');
    expect((await runCli(['rollout', 'stop', '--rollout', 'grow-1-5-0'])).code).toBe(0);
    await waitForStatus('grow-1-5-0', 'stopped');

    // fleet apply: grow-p3 added, grow-p2 no longer listed (retired)
    await t.addHosts('grow', [{ id: 'grow-p3', tier: 'production', mode: 'embedded', version: '1.4.0' }]);
    await applyLabFleet(t.lab, 'grow', undefined, ['grow-s1', 'grow-p1', 'grow-p3'].map((id) => fleetFileEntry(host(id))));
    pointCliAtLab(t);

    const dry = await runCli(['rollout', 'start', '--fleet', 'grow', '--version', '1.5.0', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(jsonOf<{ sinceFirstPlan: unknown }>(dry).sinceFirstPlan).toEqual({ added: ['grow-p3'], removed: ['grow-p2'] });
    const consent = await runCli(['rollout', 'start', '--fleet', 'grow', '--version', '1.5.0', '--allow-destructive']);
    expect(consent.code).toBe(2);
    expect(consent.stderr).toContain('was started without --allow-destructive; a resume keeps that consent');

    expect((await runCli(['rollout', 'start', '--fleet', 'grow', '--version', '1.5.0', '--json'])).code).toBe(0);
    await waitForStatus('grow-1-5-0', 'awaiting-approval');
    expect((await runCli(['rollout', 'approve', '--rollout', 'grow-1-5-0'])).code).toBe(0);
    await waitForStatus('grow-1-5-0', 'succeeded');

    expect(versions('grow-p1')).toEqual(on('1.5.0'));
    expect(versions('grow-p3')).toEqual(on('1.5.0'));
    expect(versions('grow-p2')).toEqual(on('1.4.0'));
    expect(await upgradeExecutions('grow-p2')).toEqual([]);
    expect((await upgradeExecutions('grow-s1')).length).toBe(1); // done in attempt 1, not again
    const status = jsonOf<{ sinceFirstPlan: unknown; allowDestructive: boolean }>(await runCli(['rollout', 'status', '--rollout', 'grow-1-5-0', '--json']));
    expect(status).toMatchObject({ sinceFirstPlan: { added: ['grow-p3'], removed: ['grow-p2'] }, allowDestructive: false });
  }, 600_000);

  it('a rollout whose execution was stopped from the console is reconciled by the next command, then resumes', async () => {
    expect((await runCli(['rollout', 'start', '--fleet', 'kill', '--version', '1.5.0', '--json'])).code).toBe(0);
    await waitForStatus('kill-1-5-0', 'awaiting-approval');
    const { executionArn } = (await t.lab.store.getRollout('kill-1-5-0'));
    await t.sfn.send(new StopExecutionCommand({ executionArn: executionArn!, cause: 'stopped from the console' }));
    expect((await t.lab.store.getRollout('kill-1-5-0')).status).toBe('awaiting-approval'); // no finish task ran

    const status = await runCli(['rollout', 'status', '--rollout', 'kill-1-5-0', '--json']);

    expect(status.code, status.stderr).toBe(0);
    expect(jsonOf<{ status: string }>(status).status).toBe('stopped');
    const audit = await t.lab.store.listAudit({ rolloutId: 'kill-1-5-0', limit: 100 });
    expect(audit.find((a) => a.action === 'rollout.reconciled')?.details).toMatchObject({ from: 'awaiting-approval', to: 'stopped', execution: 'ABORTED' });
    const resumed = await runCli(['rollout', 'start', '--fleet', 'kill', '--version', '1.5.0', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonOf<{ attempt: number; created: boolean }>(resumed)).toMatchObject({ attempt: 2, created: true });
    await waitForStatus('kill-1-5-0', 'awaiting-approval');
    expect((await runCli(['rollout', 'stop', '--rollout', 'kill-1-5-0'])).code).toBe(0);
    await waitForStatus('kill-1-5-0', 'stopped');
  }, 600_000);

  it('the scheduled compliance check reconciles a rollout whose execution was stopped', async () => {
    expect((await runCli(['rollout', 'start', '--fleet', 'sweep', '--version', '1.5.0', '--json'])).code).toBe(0);
    await waitForStatus('sweep-1-5-0', 'awaiting-approval');
    await t.sfn.send(new StopExecutionCommand({ executionArn: (await t.lab.store.getRollout('sweep-1-5-0')).executionArn! }));

    const check = await runCli(['compliance', 'run', '--fleet', 'sweep', '--wait', '--json']);

    expect(check.code, check.stderr).toBe(0);
    expect((await t.lab.store.getRollout('sweep-1-5-0')).status).toBe('stopped');
    const reconciled = (await t.lab.store.listAudit({ rolloutId: 'sweep-1-5-0', limit: 100 })).find((a) => a.action === 'rollout.reconciled');
    expect(reconciled?.actor).toContain(':execution:'); // the ComplianceCheck execution, not an operator
  }, 300_000);
});
