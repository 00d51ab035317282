/**
 * Issue #12 item 11: ListCommands "can't specify a managed node ID in the same
 * command that you specify Status = Pending ... because the command hasn't
 * reached the managed node yet" (SSM API reference, ListCommands, InstanceId).
 * The lab reproduces it, and send-step's idempotent look-up must still find a
 * command that has not reached its node, or a retried task sends twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { startSsm, type LabSsm } from '../../../lab/ssm';
import { sendStep, SsmCommandRunner, type SendStepDeps } from '../../../core/host-steps';
import type { HostRunContext } from '../../../core/models';
import { deployedVersions, RUN, startS3, type TestS3 } from '../../support/steps';

const OFFLINE = 'i-0bbbbbbbbbbbbbbb2';
const COMPOSE_DIR = { type: 'String', description: 'compose dir', allowedPattern: '^(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){1,16}$', interpolationType: 'ENV_VAR' };
const documents = new Map<string, object>([
  ['Test-Inventory', { schemaVersion: '2.2', description: 't', parameters: { ComposeDir: COMPOSE_DIR }, mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand: ['echo "{\\"step\\":\\"inventory\\",\\"ok\\":true}"'] } }] }],
]);

let root: string;
let s3: TestS3;
let ssm: LabSsm;
let client: SSMClient;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fw-send-pending-'));
  s3 = await startS3(['fw-out']);
  // a long delivery timeout: the command stays undelivered (Delayed) for the whole test
  ssm = await startSsm({ documents, s3: { endpoint: s3.endpoint }, region: 'us-east-1', options: { invocationVisibilityDelayMs: 0 } });
  ssm.registerInstance({ instanceId: OFFLINE, hostRoot: mkdtempSync(join(root, 'h-')), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, online: false });
  client = new SSMClient({ region: 'us-east-1', endpoint: ssm.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
});
afterAll(async () => {
  client?.destroy();
  await ssm?.close();
  await s3?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const run = (): HostRunContext => ({ ...RUN, instanceId: OFFLINE, startedAt: Date.now() });
const deps = (): SendStepDeps => ({ runner: new SsmCommandRunner(client, client, deployedVersions('Test-', '1')), documentPrefix: 'Test-', outputBucket: 'fw-out', deliveryTimeoutSeconds: 60, graceSeconds: 5 });

describe('a command that has not reached its managed node', () => {
  it('is not listed by ListCommands filtered by that node (the lab is no kinder than SSM)', async () => {
    const sent = await sendStep({ run: run(), step: 'inventory' }, deps());
    const byNode = await client.send(new ListCommandsCommand({ InstanceId: OFFLINE }));
    expect(byNode.Commands?.map((c) => c.CommandId)).not.toContain(sent.commandId);
    const all = await client.send(new ListCommandsCommand({}));
    expect(all.Commands?.map((c) => c.CommandId)).toContain(sent.commandId);
  });

  it('is still found by a retried send-step, which sends nothing the second time', async () => {
    const r = run();
    const first = await sendStep({ run: r, step: 'inventory' }, deps());
    const sentBefore = ssm.sentCommands().length;
    const retried = await sendStep({ run: r, step: 'inventory' }, deps());
    expect(retried.commandId).toBe(first.commandId);
    expect(ssm.sentCommands()).toHaveLength(sentBefore);
  });
});
