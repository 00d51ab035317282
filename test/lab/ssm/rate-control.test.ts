/**
 * The lab's Run Command honours rate control and the request limits of
 * SendCommand, as on AWS (lab/ssm/rate-control.ts cites the pages): at most
 * MaxConcurrency nodes run a command at once, the command stops going to
 * more nodes once MaxErrors is passed, and a request naming more than 50
 * instance ids is refused. Real bash scripts on five lab instances.
 */
import { GetCommandInvocationCommand, ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSsm, type LabSsm } from '../../../lab/ssm';

const HOSTS = ['i-0a00000000000000a', 'i-0a00000000000000b', 'i-0a00000000000000c', 'i-0a00000000000000d', 'i-0a00000000000000e'];
const doc = (runCommand: string[]) => ({
  schemaVersion: '2.2',
  description: 'lab rate-control document',
  parameters: { Dir: { type: 'String', interpolationType: 'ENV_VAR', allowedPattern: '^/[A-Za-z0-9/._-]{1,200}$', default: '/tmp' } },
  mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { runCommand } }],
});
// Each run writes when it started and ended (ms) under Dir, named after its node.
const documents = new Map<string, object>([
  ['Lab-Span', doc(['#!/bin/bash', 'date +%s%3N > "$SSM_Dir/$AWS_SSM_INSTANCE_ID.start"', 'sleep 0.6', 'date +%s%3N > "$SSM_Dir/$AWS_SSM_INSTANCE_ID.end"'])],
  ['Lab-Fail', doc(['#!/bin/bash', 'touch "$SSM_Dir/$AWS_SSM_INSTANCE_ID.ran"', 'exit 1'])],
]);

let root: string;
let ssm: LabSsm;
let client: SSMClient;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fw-lab-rate-'));
  ssm = await startSsm({ documents, region: 'us-east-1', options: { invocationVisibilityDelayMs: 0 } });
  for (const instanceId of HOSTS) ssm.registerInstance({ instanceId, hostRoot: mkdtempSync(join(root, `${instanceId}-`)), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  client = new SSMClient({ region: 'us-east-1', endpoint: ssm.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
});

afterAll(async () => {
  client?.destroy();
  await ssm?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function finished(commandId: string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { Commands } = await client.send(new ListCommandsCommand({ CommandId: commandId }));
    const c = Commands?.[0];
    if (c && ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(c.Status ?? '')) return c;
    if (Date.now() > deadline) throw new Error(`command ${commandId} did not finish: ${c?.Status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const statusOf = async (commandId: string, instanceId: string) =>
  (await client.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }))).Status;

describe('rate control', () => {
  it('runs the command on at most MaxConcurrency nodes at once, the rest waiting their turn', async () => {
    const dir = mkdtempSync(join(root, 'span-'));
    const out = await client.send(new SendCommandCommand({ DocumentName: 'Lab-Span', InstanceIds: HOSTS, MaxConcurrency: '2', Parameters: { Dir: [dir] } }));
    const command = await finished(out.Command!.CommandId!);
    expect(command).toMatchObject({ Status: 'Success', CompletedCount: 5, ErrorCount: 0, MaxConcurrency: '2' });

    const spans = HOSTS.map((h) => [Number(readFileSync(join(dir, `${h}.start`), 'utf8')), Number(readFileSync(join(dir, `${h}.end`), 'utf8'))] as const);
    // the most runs that overlapped at any start
    const overlap = Math.max(...spans.map(([s]) => spans.filter(([s2, e2]) => s2 <= s && s < e2).length));
    expect(overlap).toBe(2);
  });

  it('stops sending the command to more nodes once the errors pass MaxErrors; the nodes it never reached end Cancelled', async () => {
    const dir = mkdtempSync(join(root, 'fail-'));
    const out = await client.send(
      new SendCommandCommand({ DocumentName: 'Lab-Fail', InstanceIds: HOSTS, MaxConcurrency: '1', MaxErrors: '1', Parameters: { Dir: [dir] } }),
    );
    const commandId = out.Command!.CommandId!;
    const command = await finished(commandId);
    // two errors: one beyond MaxErrors 1, so the command fails and goes no further
    expect(command).toMatchObject({ Status: 'Failed', ErrorCount: 2 });
    expect(readdirSync(dir).sort()).toEqual([`${HOSTS[0]}.ran`, `${HOSTS[1]}.ran`]);
    const statuses = await Promise.all(HOSTS.map((h) => statusOf(commandId, h)));
    expect(statuses).toEqual(['Failed', 'Failed', 'Cancelled', 'Cancelled', 'Cancelled']);
  });

  it('refuses more than 50 instance ids in one request, naming the limit', async () => {
    const ids = Array.from({ length: 51 }, (_, i) => `i-0${i.toString(16).padStart(16, '0')}`);
    const refused = client.send(new SendCommandCommand({ DocumentName: 'Lab-Span', InstanceIds: ids }));
    await expect(refused).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('50') });
  });
});
