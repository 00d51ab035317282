/**
 * Issue #12 item 1: only the execution holding a host's lease, or a child it
 * started, can act on that host. A HostRollback typed into the console with
 * another run's lease token (tokens are small per-host counters, visible in
 * every execution's state) must be refused before anything reaches the host,
 * even when it also names the holder as its parent: the parent's own history
 * must show it started this child (StartExecution.sync's TaskSubmitted).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution, waitForExecution } from '../../cli/executions';
import type { LabFleetHost } from '../../lab/fleet';
import { runningVersions } from '../../lab/hosts';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab();
}, 240_000);
afterAll(async () => {
  await t?.close();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a console HostRollback carrying another run\'s lease', () => {
  it('is refused while the upgrade holding the lease runs, which goes on to succeed', async () => {
    const [host] = await t.addHosts('proof', [{ id: 'proof-1', tier: 'staging', mode: 'embedded', version: '1.4.0', faults: { slowStartSeconds: 8 } }]);
    const h = host as LabFleetHost;
    const upgrade = await startExecution(t.sfn, t.lab.stateMachines.hostUpgrade, 'proof-upgrade', { hostId: h.id, version: '1.5.0' });
    // the upgrade holds the lease and has a verified backup: a rollback would have something to restore
    for (let i = 0; i < 2400 && !(await t.lab.store.listBackups(h.id)).some((b) => b.status === 'verified'); i++) await sleep(50);
    const lease = (await t.lab.store.getLease(h.id))!;
    expect(lease).toMatchObject({ holder: upgrade.executionArn, expired: false });
    const [upgradeRun] = await t.lab.store.listRuns({ hostId: h.id });
    const sentBefore = t.lab.ssm.sentCommands().filter((c) => c.instanceIds.includes(h.instanceId)).length;

    const attempts = [
      { hostId: h.id, reason: 'console', parentRunId: randomUUID(), leaseToken: lease.token },
      // naming the holder as parent is not proof: its history shows no such child
      { hostId: h.id, reason: 'console', parentRunId: upgradeRun!.id, leaseToken: lease.token, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: upgrade.executionArn },
    ];
    for (const [n, input] of attempts.entries()) {
      const rb = await startExecution(t.sfn, t.lab.stateMachines.hostRollback, `proof-forged-${n}`, input);
      const done = await waitForExecution(t.sfn, rb.executionArn, () => undefined, 100);
      expect({ status: done.status, error: done.error }, `cause: ${done.cause}`).toEqual({ status: 'FAILED', error: 'NotStartedByLeaseHolderError' });
    }
    // nothing reached the host from the forged rollbacks, and no rollback run exists
    const sent = t.lab.ssm.sentCommands().filter((c) => c.instanceIds.includes(h.instanceId));
    expect(sent.slice(sentBefore).map((c) => c.documentName)).not.toContain('Fleetwave-Restore');
    expect((await t.lab.store.listRuns({ hostId: h.id })).map((r) => r.kind)).toEqual(['upgrade']);

    const done = await waitForExecution(t.sfn, upgrade.executionArn, () => undefined, 100);
    expect(done.status).toBe('SUCCEEDED');
    expect(Object.values(runningVersions(h.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);
  }, 120_000);
});
