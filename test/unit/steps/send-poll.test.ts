import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeInstanceInformationCommand,
  InvalidInstanceId,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
  ThrottlingException,
} from '@aws-sdk/client-ssm';
import {
  commandComment,
  HostUnreachableError,
  InvalidStepInputError,
  parseResultLine,
  sendStep,
  SsmCommandRunner,
  type SendStepDeps,
} from '../../../core/host-steps';
import { deployedVersions, RUN } from '../../support/steps';

const ssmMock = mockClient(SSMClient);
const NOW = RUN.startedAt + 5 * 60_000;
const ssm = new SSMClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

function sendDeps(): SendStepDeps {
  return {
    runner: new SsmCommandRunner(ssm, ssm, deployedVersions()),
    documentPrefix: 'Fleetwave-',
    outputBucket: 'fw-backups',
    deliveryTimeoutSeconds: 60,
    graceSeconds: 30,
    now: () => NOW,
  };
}

// preflight reads the agent version first: a current agent unless a test says otherwise
beforeEach(() => ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: RUN.instanceId, AgentVersion: '3.3.2746.0' }] }));
afterEach(() => ssmMock.reset());

describe('sendStep', () => {
  it('sends the step document with a deterministic comment, S3 output and a deadline covering delivery and execution', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1', DocumentName: 'Fleetwave-PullImages' } });

    const sent = await sendStep({ run: RUN, step: 'pull-images' }, sendDeps());

    const call = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(call).toMatchObject({
      DocumentName: 'Fleetwave-PullImages',
      DocumentVersion: '3', // the version the stack deployed, never $DEFAULT
      InstanceIds: [RUN.instanceId],
      Comment: `fw:${RUN.runId}:pull-images`,
      TimeoutSeconds: 60,
      OutputS3BucketName: 'fw-backups',
      OutputS3KeyPrefix: 'command-output',
      Parameters: { ComposeDir: ['/opt/semaphor'], Version: ['1.6.0'] },
    });
    expect(sent).toEqual({
      step: 'pull-images',
      commandId: 'cmd-1',
      instanceId: RUN.instanceId,
      documentName: 'Fleetwave-PullImages',
      sentAt: NOW,
      deadline: NOW + (60 + 1800 + 30) * 1000,
    });
  });

  it('looks for an earlier command from a minute before the run started', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    await sendStep({ run: RUN, step: 'restart' }, sendDeps());
    const list = ssmMock.commandCalls(ListCommandsCommand)[0]!.args[0].input;
    // never by InstanceId: SSM omits commands that have not reached the node from such a listing
    expect(list.InstanceId).toBeUndefined();
    expect(list.Filters).toEqual([
      { key: 'DocumentName', value: 'Fleetwave-Restart' },
      { key: 'InvokedAfter', value: new Date(RUN.startedAt - 60_000).toISOString() },
    ]);
  });

  it('returns the earlier command instead of sending a second one when a retried Lambda finds it', async () => {
    const first = new Date(RUN.startedAt + 1000);
    ssmMock.on(ListCommandsCommand).resolvesOnce({
      Commands: [{ CommandId: 'other', Comment: `fw:${RUN.runId}:restart`, DocumentName: 'Fleetwave-Restart', RequestedDateTime: first }],
      NextToken: 'page-2',
    }).resolvesOnce({
      Commands: [
        { CommandId: 'older-run', Comment: 'fw:00000000-0000-4000-8000-000000000000:pin-tags', DocumentName: 'Fleetwave-PinTags', RequestedDateTime: first },
        { CommandId: 'cmd-earlier', Comment: `fw:${RUN.runId}:pin-tags`, DocumentName: 'Fleetwave-PinTags', RequestedDateTime: first },
      ],
    });

    const sent = await sendStep({ run: RUN, step: 'pin-tags' }, sendDeps());

    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(ListCommandsCommand)).toHaveLength(2);
    expect(sent.commandId).toBe('cmd-earlier');
    expect(sent.sentAt).toBe(first.getTime()); // the retry does not extend the deadline
  });

  it('sends again for a new attempt of the same step', async () => {
    ssmMock.on(ListCommandsCommand).resolves({
      Commands: [{ CommandId: 'first', Comment: `fw:${RUN.runId}:health-check`, DocumentName: 'Fleetwave-HealthCheck', RequestedDateTime: new Date(NOW) }],
    });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'second' } });
    const sent = await sendStep({ run: RUN, step: 'health-check', attempt: 'after-restore', extra: { version: '1.4.0' } }, sendDeps());
    expect(sent.commandId).toBe('second');
    expect(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input.Comment).toBe(`fw:${RUN.runId}:health-check:after-restore`);
  });

  it('keeps comments within SSM\'s 100 characters', () => {
    expect(commandComment(RUN.runId, 'watch-schema', 'abcdefghijklmnopqrstuvwx').length).toBeLessThanOrEqual(100);
  });

  it('throws HostUnreachableError when SSM answers InvalidInstanceId', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).rejects(new InvalidInstanceId({ message: 'Instances not in a valid state', $metadata: {} }));
    const err = await sendStep({ run: RUN, step: 'preflight' }, sendDeps()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as Error).name).toBe('HostUnreachableError');
  });

  it('lets throttling through for the state machine to retry', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: {} }));
    await expect(sendStep({ run: RUN, step: 'preflight' }, sendDeps())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('refuses hostile extra values before any SSM call', async () => {
    for (const extra of [{ version: '1.6.0; rm -rf /' }, { version: '`id`' }, { passes: '3 && reboot' }]) {
      await expect(sendStep({ run: RUN, step: 'health-check', extra }, sendDeps())).rejects.toBeInstanceOf(InvalidStepInputError);
    }
    await expect(sendStep({ run: { ...RUN, composeDir: '/opt/$(id)' }, step: 'restart' }, sendDeps())).rejects.toBeInstanceOf(
      InvalidStepInputError,
    );
    expect(ssmMock.calls()).toHaveLength(0);
  });
});

describe('sendStep with transfers given as keys', () => {
  const upload = {
    backupId: RUN.runId,
    dataKey: `backups/${RUN.hostId}/${RUN.runId}/data.tar.gz`,
    configKey: `backups/${RUN.hostId}/${RUN.runId}/config.tar.gz`,
    uploadId: 'up-1',
    partSizeMb: 8,
    partCount: 2,
  };
  const transfers = { bucket: 'fw-backups', region: 'eu-west-1' };

  it('sends the backup target as bucket, region, keys and upload id: nothing that grants access', async () => {
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'c' } });
    await sendStep({ run: RUN, step: 'backup', extra: { target: upload } }, { ...sendDeps(), transfers });
    const params = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input.Parameters!;
    expect(params).toMatchObject({ Bucket: ['fw-backups'], Region: ['eu-west-1'], DataKey: [upload.dataKey], UploadId: ['up-1'], PartSizeMb: ['8'], PartCount: ['2'] });
    expect(JSON.stringify(params)).not.toMatch(/https?:|X-Amz-|Signature/i);
  });

  it('refuses a transfer when no backup bucket is configured, before any SSM call', async () => {
    await expect(sendStep({ run: RUN, step: 'backup', extra: { target: upload } }, sendDeps())).rejects.toBeInstanceOf(InvalidStepInputError);
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('refuses another host\'s backup keys before any SSM call', async () => {
    const foreign = { ...upload, dataKey: 'backups/other-host/x/data.tar.gz', configKey: 'backups/other-host/x/config.tar.gz' };
    await expect(sendStep({ run: RUN, step: 'backup', extra: { target: foreign } }, { ...sendDeps(), transfers })).rejects.toBeInstanceOf(
      InvalidStepInputError,
    );
    await expect(
      sendStep({ run: RUN, step: 'restore', extra: { backup: { ...foreign, dataSha256: 'a'.repeat(64), configSha256: 'a'.repeat(64) } } }, { ...sendDeps(), transfers }),
    ).rejects.toBeInstanceOf(InvalidStepInputError);
    expect(ssmMock.calls()).toHaveLength(0);
  });
});

describe('parseResultLine', () => {
  it('takes the last JSON object with a step field and ignores garbage around it', () => {
    const stdout = [
      'pulling images...',
      '{"step":"pull-images","ok":false,"error":"old"}',
      '{ not json',
      '{"progress": 50}',
      '{"step":"pull-images","ok":true,"pulled":3}',
      '[1,2,3]',
      '{"noise":true}',
      '   ',
    ].join('\n');
    expect(parseResultLine(stdout)).toEqual({ step: 'pull-images', ok: true, pulled: 3 });
  });

  it('returns null when no line qualifies', () => {
    expect(parseResultLine('hello\n{"ok":true}\n{broken')).toBeNull();
    expect(parseResultLine('')).toBeNull();
  });
});
