/**
 * HostUpgrade in the lab against the versions SSM has: a host whose SSM Agent
 * is too old for `interpolationType: ENV_VAR`, and documents whose default
 * version an operator changed by hand after the stack deployed them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningVersions } from '../../lab/hosts';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const sentTo = (instanceId: string) => t.lab.ssm.sentCommands().filter((c) => c.instanceIds.includes(instanceId));

describe('a host with an old SSM Agent', () => {
  it('is refused at preflight, naming the agent version found and the minimum, before any script runs', async () => {
    const [host] = await t.addHosts('old-agent', [{ id: 'old-agent', tier: 'staging', mode: 'embedded', version: '1.4.0' }]);
    // 3.2.x predates ENV_VAR interpolation: its scripts would run with every SSM_<Name> unset
    t.lab.ssm.setAgentVersion(host!.instanceId, '3.2.582.0');

    const r = await t.upgrade(host!.id, '1.5.0');

    expect(r.status).toBe('FAILED');
    const [run] = await t.lab.store.listRuns({ hostId: host!.id });
    expect(run).toMatchObject({ kind: 'upgrade', status: 'failed', outcome: 'preflight-failed', failedStep: 'preflight' });
    expect(run!.message).toContain('AgentTooOldError');
    expect(run!.message).toContain('SSM Agent 3.2.582.0');
    expect(run!.message).toContain('3.3.2746.0 or later');
    // nothing was sent, so nothing ran on the host
    expect(sentTo(host!.instanceId)).toEqual([]);
    const orchestration = join(host!.root, 'ssm', 'orchestration');
    expect(existsSync(orchestration) ? readdirSync(orchestration) : []).toEqual([]);
    expect(Object.values(runningVersions(host!.root))).toEqual(['1.4.0', '1.4.0', '1.4.0']);
    expect(await t.lab.store.listBackups(host!.id)).toEqual([]);

    // the operator updates the agent: the same host now upgrades (3.3.10000.0 is newer, compared number by number)
    t.lab.ssm.setAgentVersion(host!.instanceId, '3.3.10000.0');
    const again = await t.upgrade(host!.id, '1.5.0');
    expect(again.output).toMatchObject({ outcome: 'succeeded', version: '1.5.0' });
  });
});
