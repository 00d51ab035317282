/**
 * pollStep: SSM mocked, command output read from a real s3rver when the
 * inline output was cut (sendStep and parseResultLine:
 * test/unit/steps/send-poll.test.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CancelCommandCommand, GetCommandInvocationCommand, InvocationDoesNotExist, SSMClient } from '@aws-sdk/client-ssm';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { pollStep, S3CommandOutputReader, SsmCommandRunner, type PollStepDeps } from '../../../core/host-steps';
import { StepOutcome, type SentCommand } from '../../../core/models';
import { RUN, startS3, type TestS3 } from '../../support/steps';

const ssmMock = mockClient(SSMClient);
const NOW = RUN.startedAt + 5 * 60_000;
const ssm = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

afterEach(() => ssmMock.reset());

describe('pollStep', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startS3(['fw-backups']);
  });
  afterAll(async () => s3?.close());

  const command: SentCommand = {
    step: 'pull-images',
    commandId: '0b6c3f1e-1111-4222-8333-444455556666',
    instanceId: RUN.instanceId,
    documentName: 'Fleetwave-PullImages',
    sentAt: NOW,
    deadline: NOW + 60_000,
  };
  const pollDeps = (now = NOW + 1000): PollStepDeps => ({
    runner: new SsmCommandRunner(ssm),
    output: new S3CommandOutputReader(s3.client),
    outputBucket: 'fw-backups',
    now: () => now,
  });
  const invocation = (Status: string, StatusDetails: string, stdout = '', ResponseCode = 0) =>
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: Status as never,
      StatusDetails,
      ResponseCode,
      StandardOutputContent: stdout,
    });
  const poll = async (now?: number) => StepOutcome.parse(await pollStep({ run: RUN, command }, pollDeps(now)));

  it('treats InvocationDoesNotExist right after SendCommand as pending, never failure', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ message: '', $metadata: {} }));
    expect(await poll()).toMatchObject({ status: 'Pending', error: null });
  });

  it.each(['Pending', 'InProgress', 'Delayed', 'Cancelling'])('reports %s as Pending before the deadline', async (status) => {
    invocation(status, status);
    expect((await poll()).status).toBe('Pending');
  });

  it('reports TimedOut and cancels the command once the deadline has passed without a final status', async () => {
    invocation('InProgress', 'InProgress');
    ssmMock.on(CancelCommandCommand).resolves({});
    const outcome = await poll(command.deadline + 1);
    expect(outcome).toMatchObject({ status: 'TimedOut', error: 'deadline-exceeded' });
    expect(ssmMock.commandCalls(CancelCommandCommand)[0]!.args[0].input).toEqual({
      CommandId: command.commandId,
      InstanceIds: [RUN.instanceId],
    });
  });

  // GetCommandInvocation StatusDetails "Execution Timed Out": "the command started to run on the
  // managed node, but the execution wasn't complete before the timeout expired" (SSM API reference,
  // GetCommandInvocation); an agent may report it under Status Failed.
  it.each([['Failed', 'ExecutionTimedOut'], ['Failed', 'Execution Timed Out'], ['TimedOut', 'ExecutionTimedOut']])(
    'reports %s / %s as TimedOut, not as the step failing',
    async (status, details) => {
      invocation(status, details, '', 137);
      expect(await poll()).toMatchObject({ status: 'TimedOut', error: 'timed-out' });
    },
  );

  it('reports TimedOut at the deadline even while the invocation never appeared', async () => {
    ssmMock.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ message: '', $metadata: {} }));
    expect((await poll(command.deadline + 1)).status).toBe('TimedOut');
  });

  it('reports Success with the parsed result line and the output location', async () => {
    invocation('Success', 'Success', 'pulling\n{"step":"pull-images","ok":true,"message":"pulled 3 images"}\n');
    expect(await poll()).toEqual({
      step: 'pull-images',
      status: 'Success',
      commandId: command.commandId,
      result: { step: 'pull-images', ok: true, message: 'pulled 3 images' },
      error: null,
      message: 'pulled 3 images',
      outputUri: `s3://fw-backups/command-output/${command.commandId}/${RUN.instanceId}/`,
    });
  });

  it('does not accept exit code 0 without a result line for this step', async () => {
    invocation('Success', 'Success', 'done\n{"step":"restart","ok":true}\n');
    expect(await poll()).toMatchObject({ status: 'Failed', error: 'invalid-result' });
  });

  it('reports Failed with the script\'s error code and a redacted message', async () => {
    invocation(
      'Failed',
      'Failed',
      '{"step":"pull-images","ok":false,"error":"pull-failed","message":"cannot reach postgres://semaphor:s3cr3t@db:5432/app","detail":{"password":"hunter2"}}',
      1,
    );
    const outcome = await poll();
    expect(outcome).toMatchObject({ status: 'Failed', error: 'pull-failed' });
    expect(outcome.message).toBe('cannot reach postgres://***@db:5432/app');
    expect(JSON.stringify(outcome)).not.toMatch(/s3cr3t|hunter2/);
  });

  it('never copies raw stdout into the outcome', async () => {
    invocation('Failed', 'Failed', 'DATABASE_URL=postgres://u:topsecret@h/db\nsegfault', 139);
    const outcome = await poll();
    expect(outcome).toMatchObject({ status: 'Failed', error: 'command-failed', result: null });
    expect(JSON.stringify(outcome)).not.toContain('topsecret');
  });

  it.each([
    ['TimedOut', 'ExecutionTimedOut', 'TimedOut', 'timed-out'],
    ['Cancelled', 'Cancelled', 'Cancelled', 'cancelled'],
    ['TimedOut', 'DeliveryTimedOut', 'Undeliverable', 'agent-offline'],
    ['Failed', 'Undeliverable', 'Undeliverable', 'agent-offline'],
    ['Failed', 'InvalidPlatform', 'Undeliverable', 'agent-offline'],
    ['Failed', 'Terminated', 'Undeliverable', 'agent-offline'],
  ])('maps SSM %s/%s to %s (%s)', async (status, details, expected, error) => {
    invocation(status, details);
    expect(await poll()).toMatchObject({ status: expected, error });
  });

  it('reads the full stdout from S3 when the inline output was cut at 24,000 characters', async () => {
    const big = `${'x'.repeat(200)}\n`.repeat(1500); // 300 KB of progress: more than the tail that is read
    const full = `${big}{"step":"pull-images","ok":true,"images":3}\n`;
    const key = `command-output/${command.commandId}/${RUN.instanceId}/awsrunShellScript/run/stdout`;
    await s3.client.send(new PutObjectCommand({ Bucket: 'fw-backups', Key: key, Body: full }));
    ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      StandardOutputContent: full.slice(0, 24_000),
      StandardOutputUrl: `${s3.endpoint}/fw-backups/${key}`,
    });
    expect(await poll()).toMatchObject({ status: 'Success', result: { step: 'pull-images', ok: true, images: 3 } });
  });

  it('finds the full stdout under the output prefix when SSM gave no URL', async () => {
    const id = 'ffffffff-1111-4222-8333-444455556666';
    const key = `command-output/${id}/${RUN.instanceId}/awsrunShellScript/run/stdout`;
    const full = `${'y'.repeat(30_000)}\n{"step":"pull-images","ok":false,"error":"pull-failed"}\n`;
    await s3.client.send(new PutObjectCommand({ Bucket: 'fw-backups', Key: key, Body: full }));
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 1, StandardOutputContent: full.slice(0, 24_000) });
    const outcome = await pollStep({ run: RUN, command: { ...command, commandId: id } }, pollDeps());
    expect(outcome).toMatchObject({ status: 'Failed', error: 'pull-failed' });
  });
});
