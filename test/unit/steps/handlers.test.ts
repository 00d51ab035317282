import { afterEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CompleteBackupEnv, parseEnv, PrepareBackupEnv, SendStepEnv } from '../../../lambdas/shared/env';
import { resetClients } from '../../../lambdas/shared/clients';
import { createHandler as sendStepHandler } from '../../../lambdas/send-step/handler';
import { RUN } from '../../support/steps';

/** One mock for the file: every SSMClient the handlers make is stubbed. */
const ssmMock = mockClient(SSMClient);

describe('parseEnv', () => {
  it('applies defaults and converts numbers', () => {
    expect(
      parseEnv(SendStepEnv, {
        REGISTRY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fw-registry',
        DOCUMENT_PREFIX: 'Fleetwave-',
        OUTPUT_BUCKET: 'fw-out',
        BACKUP_BUCKET: 'fw-out',
        DOCUMENT_VERSIONS: '{"Fleetwave-Backup":"4"}',
      }),
    ).toMatchObject({
      DELIVERY_TIMEOUT_SECONDS: 120,
      DEADLINE_GRACE_SECONDS: 120,
      DOCUMENT_VERSIONS: { 'Fleetwave-Backup': '4' },
    });
    expect(parseEnv(PrepareBackupEnv, { BACKUP_BUCKET: 'fw-b', S3_FORCE_PATH_STYLE: 'true' })).toMatchObject({
      MAX_PARTS: 32,
      S3_FORCE_PATH_STYLE: true,
    });
  });

  it('names the missing and the invalid variable', () => {
    expect(() => parseEnv(SendStepEnv, { OUTPUT_BUCKET: 'fw-out', BACKUP_BUCKET: 'fw-out', DELIVERY_TIMEOUT_SECONDS: '10' })).toThrow(
      /DOCUMENT_PREFIX is missing.*DELIVERY_TIMEOUT_SECONDS is invalid/,
    );
    expect(() => parseEnv(SendStepEnv, { DOCUMENT_PREFIX: 'F-', OUTPUT_BUCKET: 'fw-b', BACKUP_BUCKET: 'Not A Bucket' })).toThrow(/BACKUP_BUCKET is invalid/);
    const env = { DOCUMENT_PREFIX: 'F-', OUTPUT_BUCKET: 'fw-b', BACKUP_BUCKET: 'fw-b' };
    expect(() => parseEnv(SendStepEnv, env)).toThrow(/DOCUMENT_VERSIONS is missing/);
    expect(() => parseEnv(SendStepEnv, { ...env, DOCUMENT_VERSIONS: '{"F-Backup":' })).toThrow(
      /DOCUMENT_VERSIONS is invalid \(must be a JSON object of document names and versions\)/,
    );
    expect(() => parseEnv(SendStepEnv, { ...env, DOCUMENT_VERSIONS: '{"F-Backup":"$DEFAULT"}' })).toThrow(
      /DOCUMENT_VERSIONS is invalid \(each version must be a document version number like 3\)/,
    );
    expect(() => parseEnv(CompleteBackupEnv, {})).toThrow(expect.objectContaining({ name: 'InvalidEnvironmentError', variables: ['BACKUP_BUCKET'] }));
  });
});

describe('send-step handler', () => {
  afterEach(() => {
    ssmMock.reset();
    vi.unstubAllEnvs();
    resetClients();
  });

  it('sends with the environment the function was given', async () => {
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('DOCUMENT_PREFIX', 'Fw-');
    vi.stubEnv('OUTPUT_BUCKET', 'fw-out');
    vi.stubEnv('BACKUP_BUCKET', 'fw-out');
    vi.stubEnv('DELIVERY_TIMEOUT_SECONDS', '45');
    vi.stubEnv('DOCUMENT_VERSIONS', '{"Fw-Inventory":"2"}');
    // the registry is opened only for a step that waits (a task token): none here
    vi.stubEnv('REGISTRY_SECRET_ARN', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fw-registry');
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-1' } });
    const sent = await sendStepHandler()({ run: RUN, step: 'inventory' });
    expect(sent).toMatchObject({ commandId: 'c-1', documentName: 'Fw-Inventory' });
    expect(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input).toMatchObject({ TimeoutSeconds: 45, OutputS3BucketName: 'fw-out', DocumentVersion: '2' });
  });

  it('refuses a malformed event with InvalidTaskInputError naming the field, before any SSM call', async () => {
    const send = vi.fn();
    const ok = sendStepHandler(() => ({
      runner: { send, findByComment: send, getInvocation: send, cancel: send, agentVersion: send },
      documentPrefix: 'Fw-',
      outputBucket: 'b',
      deliveryTimeoutSeconds: 30,
      graceSeconds: 0,
    }));
    const err = await ok({ run: { ...RUN, instanceId: 'i-123; reboot' }, step: 'nuke' }).catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'InvalidTaskInputError' });
    expect((err as unknown as { fields: string[] }).fields).toEqual(expect.arrayContaining(['run.instanceId', 'step']));
    expect((err as Error).message).not.toContain('reboot');
    expect(send).not.toHaveBeenCalled();
  });
});
