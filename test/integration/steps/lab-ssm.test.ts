/**
 * send-step and poll-step against the lab's SSM endpoint (real bash, real
 * ListCommands, output in a real s3rver): the idempotent retry, the
 * InvocationDoesNotExist window, output beyond the inline limit, a failing
 * script, and an offline agent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { startSsm, type LabSsm } from '../../../lab/ssm';
import { labClock } from '../../../lab/clock';
import { pollStep, S3CommandOutputReader, sendStep, SsmCommandRunner, type PollStepDeps, type SendStepDeps } from '../../../core/host-steps';
import type { HostRunContext, SentCommand, StepOutcome } from '../../../core/models';
import { deployedVersions, RUN, startS3, type TestS3 } from '../../support/steps';

const ONLINE = 'i-0aaaaaaaaaaaaaaa1';
const OFFLINE = 'i-0aaaaaaaaaaaaaaa2';
const COMPOSE_DIR = { type: 'String', description: 'compose dir', allowedPattern: '^(/[A-Za-z0-9_][A-Za-z0-9._-]{0,63}){1,16}$', interpolationType: 'ENV_VAR' };
const doc = (runCommand: string[]) => ({
  schemaVersion: '2.2',
  description: 'test step',
  parameters: { ComposeDir: COMPOSE_DIR },
  mainSteps: [{ action: 'aws:runShellScript', name: 'run', inputs: { timeoutSeconds: 30, runCommand } }],
});
const documents = new Map<string, object>([
  // 30,000 characters of progress, then the result line: only S3 has the end.
  ['Test-Inventory', doc(['i=0; while [ $i -lt 300 ]; do printf "%0100d\\n" $i; i=$((i+1)); done', 'echo "{\\"step\\":\\"inventory\\",\\"ok\\":true,\\"dir\\":\\"$SSM_ComposeDir\\"}"'])],
  ['Test-Restart', doc(['echo "starting"', 'echo \'{"step":"restart","ok":false,"error":"restart-failed","message":"up -d failed for postgres://semaphor:pw123@db/app"}\'', 'exit 3'])],
]);

let root: string;
let s3: TestS3;
let ssm: LabSsm;
let client: SSMClient;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fw-steps-ssm-'));
  s3 = await startS3(['fw-out']);
  ssm = await startSsm({
    documents,
    s3: { endpoint: s3.endpoint },
    region: 'us-east-1',
    // the lab's time scale: the 30 s delivery timeout lasts 1 s
    clock: labClock(1 / 30, { minRealLimitMs: 1000 }),
    options: { invocationVisibilityDelayMs: 300 },
  });
  for (const [instanceId, online] of [[ONLINE, true], [OFFLINE, false]] as const) {
    const hostRoot = mkdtempSync(join(root, `${instanceId}-`));
    ssm.registerInstance({ instanceId, hostRoot, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, online });
  }
  client = new SSMClient({ region: 'us-east-1', endpoint: ssm.endpoint, credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' } });
});

afterAll(async () => {
  client?.destroy();
  await ssm?.close();
  await s3?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

const run = (instanceId: string): HostRunContext => ({ ...RUN, instanceId, startedAt: Date.now() });
const sendDeps = (): SendStepDeps => ({
  runner: new SsmCommandRunner(client, client, deployedVersions('Test-', '1')),
  documentPrefix: 'Test-',
  outputBucket: 'fw-out',
  deliveryTimeoutSeconds: 30,
  graceSeconds: 5,
});
const pollDeps = (): PollStepDeps => ({ runner: new SsmCommandRunner(client), output: new S3CommandOutputReader(s3.client), outputBucket: 'fw-out' });

async function pollUntilDone(r: HostRunContext, command: SentCommand): Promise<{ outcome: StepOutcome; polls: StepOutcome[] }> {
  const polls: StepOutcome[] = [];
  for (let i = 0; i < 150; i++) {
    const outcome = await pollStep({ run: r, command }, pollDeps());
    polls.push(outcome);
    if (outcome.status !== 'Pending') return { outcome, polls };
    await sleep(100);
  }
  throw new Error('step did not finish');
}

describe('send-step and poll-step against the lab SSM endpoint', () => {
  it('sends once even when the task runs twice, and reads the result line past the inline limit from S3', async () => {
    const r = run(ONLINE);
    // The lab's clock is held from before the send through the first poll, so that poll falls in the
    // InvocationDoesNotExist window however slowly the machine answers.
    const clock = vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    let first: SentCommand;
    let firstPoll: StepOutcome;
    try {
      first = await sendStep({ run: r, step: 'inventory' }, sendDeps());
      const retried = await sendStep({ run: r, step: 'inventory' }, sendDeps());
      expect(retried.commandId).toBe(first.commandId);
      expect(ssm.sentCommands().filter((c) => c.documentName === 'Test-Inventory')).toHaveLength(1);
      // the endpoint does not know the invocation yet, and poll-step reads that as "not yet"
      await expect(client.send(new GetCommandInvocationCommand({ CommandId: first.commandId, InstanceId: ONLINE }))).rejects.toMatchObject({
        name: 'InvocationDoesNotExist',
      });
      firstPoll = await pollStep({ run: r, command: first }, pollDeps());
    } finally {
      clock.mockRestore();
    }
    expect(firstPoll).toMatchObject({ status: 'Pending' }); // InvocationDoesNotExist: not yet, not a failure

    const { outcome } = await pollUntilDone(r, first);
    expect(outcome).toMatchObject({
      status: 'Success',
      result: { step: 'inventory', ok: true, dir: RUN.composeDir },
      outputUri: `s3://fw-out/command-output/${first.commandId}/${ONLINE}/`,
    });
  });

  it('reports a failing script as Failed with its error code, the secret redacted', async () => {
    const r = run(ONLINE);
    const sent = await sendStep({ run: r, step: 'restart' }, sendDeps());
    const { outcome } = await pollUntilDone(r, sent);
    expect(outcome).toMatchObject({ status: 'Failed', error: 'restart-failed', message: 'up -d failed for postgres://***@db/app' });
    expect(JSON.stringify(outcome)).not.toContain('pw123');
  });

  it('reports an offline agent as Undeliverable (agent-offline), not as a failed step', async () => {
    const r = run(OFFLINE);
    const sent = await sendStep({ run: r, step: 'inventory' }, sendDeps());
    const { outcome } = await pollUntilDone(r, sent);
    expect(outcome).toMatchObject({ status: 'Undeliverable', error: 'agent-offline', result: null });
  });
});
