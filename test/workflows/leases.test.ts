/**
 * The per-host lease in the lab: two HostUpgrade executions on one host at
 * once. The second is refused (HostLockedError naming the first) without
 * sending anything to the host; the first carries on and succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExecution, waitForExecution } from '../../cli/executions';
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

describe('two HostUpgrade executions on one host', () => {
  it('refuses the second with HostLockedError naming the first, and the first still succeeds', async () => {
    const [host] = await t.addHosts('leases', [{ id: 'lease-1', tier: 'staging', mode: 'embedded', version: '1.4.0' }]);
    const h = host!;
    const first = await startExecution(t.sfn, t.lab.stateMachines.hostUpgrade, 'lease-first', { hostId: h.id, version: '1.5.0' });
    // the first holds the lease once its BeginRun has run
    for (let i = 0; i < 200 && !(await t.lab.store.getLease(h.id)); i++) await sleep(50);
    expect(await t.lab.store.getLease(h.id)).toMatchObject({ holder: first.executionArn, expired: false });

    // a different request (1.4.1), so nothing but the lease can refuse it
    const second = await startExecution(t.sfn, t.lab.stateMachines.hostUpgrade, 'lease-second', { hostId: h.id, version: '1.4.1' });
    const refused = await waitForExecution(t.sfn, second.executionArn, () => undefined, 100);

    expect(refused.status).toBe('FAILED');
    expect(refused.error).toBe('HostLockedError');
    expect(refused.cause).toContain(`leased by ${first.executionArn}`);
    // the refused execution created no run of its own
    const firstRun = await t.lab.store.listRuns({ hostId: h.id });
    expect(firstRun.map((r) => r.executionArn)).toEqual([first.executionArn]);
    expect((await t.lab.store.listAudit({ hostId: h.id })).filter((a) => a.action === 'upgrade.started').map((a) => a.runId)).toEqual([firstRun[0]!.id]);

    const done = await waitForExecution(t.sfn, first.executionArn, () => undefined, 100);
    expect(done.status).toBe('SUCCEEDED');
    // and sent nothing: every command the host received is a recorded step of the first run
    const sent = t.lab.ssm.sentCommands().filter((c) => c.instanceIds.includes(h.instanceId)).map((c) => c.commandId).sort();
    const recorded = (await t.lab.store.listSteps(firstRun[0]!.id)).map((s) => s.commandId).sort();
    expect(sent.length).toBeGreaterThanOrEqual(7);
    expect(sent).toEqual([...new Set(recorded)]);
    expect(done.output).toMatchObject({ outcome: 'succeeded', version: '1.5.0' });
    expect(Object.values(runningVersions(h.root))).toEqual(['1.5.0', '1.5.0', '1.5.0']);
    const lease = await t.lab.store.getLease(h.id);
    expect(lease === null || lease.expired).toBe(true);
  }, 90_000);
});
