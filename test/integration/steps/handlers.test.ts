import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetObjectCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { LAB_HOST_ROLE_ARN } from '../../../lab/hosts/credentials';
import { resetClients } from '../../../lambdas/shared/clients';
import { createHandler as sendStepHandler } from '../../../lambdas/send-step/handler';
import { createHandler as prepareBackupHandler } from '../../../lambdas/prepare-backup/handler';
import { createHandler as completeBackupHandler } from '../../../lambdas/complete-backup/handler';
import type { BackupUpload } from '../../../core/backup-storage';
import { deployedVersions, RUN, startS3, type TestS3 } from '../../support/steps';

/** One mock for the file: every SSMClient the handlers make is stubbed. */
const ssmMock = mockClient(SSMClient);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

describe('backup flow through the handlers, as the state machine drives it (lab S3, endpoint from AWS_ENDPOINT_URL_S3)', () => {
  let s3: TestS3;
  let logged = '';
  beforeAll(async () => {
    s3 = await startS3(['fw-backups']);
  });
  afterAll(async () => s3?.close());

  function useLabEnvironment() {
    // Exactly what the lab sets: the SDK's own endpoint variable, nothing in code.
    vi.stubEnv('AWS_ENDPOINT_URL_S3', s3.endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    vi.stubEnv('BACKUP_BUCKET', 'fw-backups');
    vi.stubEnv('OUTPUT_BUCKET', 'fw-backups');
    vi.stubEnv('DOCUMENT_PREFIX', 'Fleetwave-');
    vi.stubEnv('DOCUMENT_VERSIONS', JSON.stringify(deployedVersions()));
    vi.stubEnv('S3_FORCE_PATH_STYLE', 'true');
    // send-step opens the registry only for a task token (none here)
    vi.stubEnv('REGISTRY_SECRET_ARN', 'arn:aws:secretsmanager:us-east-1:000000000000:secret:fleetwave/registry-AbCdEf');
    resetClients();
    ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'c-1' } });
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged += chunk.toString();
      return write(chunk as never, ...(rest as []));
    });
  }
  afterEach(() => {
    ssmMock.reset();
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    resetClients();
  });
  const sentParameters = () => ssmMock.commandCalls(SendCommandCommand).at(-1)!.args[0].input.Parameters!;
  /** The host's own client: its role session, scoped to its prefix, signing what the parameters name. */
  const hostClient = () => {
    const c = s3.sts.assumeRole({ roleArn: LAB_HOST_ROLE_ARN, sessionName: RUN.instanceId, access: { objectPrefixes: [`backups/${RUN.hostId}/`] } });
    return new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: c, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  };

  it('prepares, sends keys only, the host uploads with its own session, verifies by checksums, and logs no credential', async () => {
    useLabEnvironment();
    const upload = (await prepareBackupHandler()({ run: RUN, estimatedBytes: 4096 })) as BackupUpload;
    expect(upload).toMatchObject({ dataKey: `backups/${RUN.hostId}/${RUN.runId}/data.tar.gz`, partCount: 1, partSizeMb: 8 });

    const send = sendStepHandler();
    await send({ run: RUN, step: 'backup', extra: { target: upload } });
    const params = sentParameters();
    expect(params).toMatchObject({ Bucket: ['fw-backups'], Region: ['us-east-1'], DataKey: [upload.dataKey], UploadId: [upload.uploadId] });
    expect(JSON.stringify(params)).not.toMatch(/https?:|X-Amz-|ASIA|S3RVER/);

    const host = hostClient();
    const data = randomBytes(4096);
    const config = randomBytes(300);
    const put = await host.send(
      new UploadPartCommand({ Bucket: 'fw-backups', Key: params.DataKey![0], UploadId: params.UploadId![0], PartNumber: 1, Body: data, ChecksumSHA256: sha256b64(data) }),
    );
    await host.send(new PutObjectCommand({ Bucket: 'fw-backups', Key: params.ConfigKey![0], Body: config, IfNoneMatch: '*', ChecksumSHA256: sha256b64(config) }));
    const composite = `${createHash('sha256').update(createHash('sha256').update(data).digest()).digest('base64')}-1`;
    const resultLine = {
      step: 'backup',
      ok: true,
      mode: 'embedded',
      snapshotAt: 1_800_000_000_000,
      finishedAt: 1_800_000_042_500,
      data: { bytes: data.length, sha256: sha256(data), format: 'tar.gz', entries: 3, checksumSha256: composite, parts: [{ partNumber: 1, etag: put.ETag, bytes: data.length, checksumSha256: sha256b64(data) }] },
      config: { bytes: config.length, sha256: sha256(config), checksumSha256: sha256b64(config), entries: 2 },
    };
    const verification = await completeBackupHandler()({ run: RUN, target: upload, backupResult: resultLine });
    expect(verification).toMatchObject({ verified: true, backupId: RUN.runId, format: 'tar.gz', dataBytes: 4096, dataChecksum: composite });

    // HostRollback: begin-run's restore source carries keys and sha256; send-step adds only the bucket.
    const restoreSource = {
      backupId: RUN.runId,
      version: '1.4.0',
      mode: 'embedded',
      dataKey: upload.dataKey,
      dataFormat: 'tar.gz',
      dataSha256: sha256(data),
      configKey: upload.configKey,
      configSha256: sha256(config),
    };
    await send({ run: RUN, step: 'restore', extra: { backup: restoreSource } });
    const restore = sentParameters();
    expect(restore).toMatchObject({ DataSha256: [sha256(data)], Mode: ['embedded'], DataKey: [upload.dataKey], DataVersionId: ['-'] });
    const got = await host.send(new GetObjectCommand({ Bucket: 'fw-backups', Key: restore.DataKey![0] }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(data));
    host.destroy();

    expect(logged).toContain('backup verification');
    // the line the dashboard's per-host backup table and the BackupBytes / BackupSeconds filters read
    const verified = logged.split('\n').filter((l) => l.includes('"backup verified"')).map((l) => JSON.parse(l));
    expect(verified).toHaveLength(1);
    expect(verified[0]).toMatchObject({ hostId: RUN.hostId, runId: RUN.runId, bytes: 4096, parts: 1, durationSeconds: 42.5 });
    expect(logged).not.toMatch(/X-Amz-Signature|X-Amz-Credential|ASIA[A-Z0-9]{12}/);
  });

  it('aborts on request and refuses keys of another host', async () => {
    useLabEnvironment();
    const upload = (await prepareBackupHandler()({ run: RUN, estimatedBytes: 10, backupId: 'b-abort' })) as BackupUpload;
    const complete = completeBackupHandler();
    expect(await complete({ run: RUN, target: upload, abort: true })).toMatchObject({ objectExists: false });
    await expect(complete({ run: { ...RUN, hostId: 'someone-else' }, target: upload, abort: true })).rejects.toMatchObject({
      name: 'InvalidBackupKeyError',
    });
    await expect(sendStepHandler()({ run: { ...RUN, hostId: 'someone-else' }, step: 'backup', extra: { target: upload } })).rejects.toMatchObject({
      name: 'InvalidStepInputError',
    });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('refuses a backup result that is not a successful backup line', async () => {
    useLabEnvironment();
    const target = { dataKey: `backups/${RUN.hostId}/b/data.tar.gz`, configKey: `backups/${RUN.hostId}/b/config.tar.gz`, uploadId: 'u' };
    await expect(
      completeBackupHandler()({ run: RUN, target, backupResult: { step: 'backup', ok: false, error: 'backup-failed' } }),
    ).rejects.toMatchObject({ name: 'InvalidTaskInputError' });
  });
});
