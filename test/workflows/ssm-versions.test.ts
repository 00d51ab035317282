/**
 * HostUpgrade in the lab against the versions SSM has: a host whose SSM Agent
 * is too old for `interpolationType: ENV_VAR`, and documents whose default
 * version an operator changed by hand after the stack deployed them.
 */
import { DescribeDocumentCommand, SSMClient, UpdateDocumentCommand, UpdateDocumentDefaultVersionCommand } from '@aws-sdk/client-ssm';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningVersions } from '../../lab/hosts';
import { startTestLab, type TestLab } from '../support/lab';

let t: TestLab;
beforeAll(async () => {
  t = await startTestLab();
}, 240_000);
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
  }, 180_000);
});

describe('documents changed by hand after the stack deployed them', () => {
  it('runs exactly the version the stack deployed, even when another version was made the default', async () => {
    const [host] = await t.addHosts('pinned-docs', [{ id: 'pinned-docs', tier: 'staging', mode: 'embedded', version: '1.4.0' }]);
    // an operator (or another tool) adds a version of the preflight document and makes it the default:
    // SendCommand without DocumentVersion would run it ($DEFAULT) instead of the scripts fleetwave deployed
    const ssm = new SSMClient({});
    const deployed = await ssm.send(new DescribeDocumentCommand({ Name: 'Fleetwave-Preflight' }));
    expect(deployed.Document).toMatchObject({ DefaultVersion: '1', LatestVersion: '1' });
    const content = structuredClone(Object.values(t.lab.template.documents).find((d) => d.name === 'Fleetwave-Preflight')!.content) as {
      mainSteps: { inputs: { runCommand: string[] } }[];
    };
    content.mainSteps[0]!.inputs.runCommand = ['echo "not the deployed preflight" >&2', 'exit 97'];
    await ssm.send(new UpdateDocumentCommand({ Name: 'Fleetwave-Preflight', Content: JSON.stringify(content) }));
    await ssm.send(new UpdateDocumentDefaultVersionCommand({ Name: 'Fleetwave-Preflight', DocumentVersion: '2' }));
    ssm.destroy();

    const r = await t.upgrade(host!.id, '1.5.0');

    const [run] = await t.lab.store.listRuns({ hostId: host!.id });
    expect({ outcome: run!.outcome, message: run!.message }).toEqual({ outcome: 'succeeded', message: 'upgrade to 1.5.0 succeeded' });
    expect(r.output).toMatchObject({ outcome: 'succeeded', version: '1.5.0' });
    // every command named the version the stack deployed, none ran $DEFAULT
    const sent = sentTo(host!.instanceId);
    expect(sent.map((c) => `${c.documentName}@${c.documentVersion}`)).toEqual(
      ['Preflight', 'PullImages', 'Backup', 'PinTags', 'Restart', 'WatchSchema', 'HealthCheck'].map((d) => `Fleetwave-${d}@1`),
    );
  }, 180_000);
});
