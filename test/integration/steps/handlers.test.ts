import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { resetClients } from '../../../lambdas/shared/clients';
import { createHandler as sendStepHandler } from '../../../lambdas/send-step/handler';
import { createHandler as prepareBackupHandler } from '../../../lambdas/prepare-backup/handler';
import { createHandler as completeBackupHandler } from '../../../lambdas/complete-backup/handler';
import type { BackupUpload } from '../../../core/backup-storage';
import { deployedVersions, RUN, startS3, type TestS3 } from '../../support/steps';

/** One mock for the file: every SSMClient the handlers make is stubbed. */
const ssmMock = mockClient(SSMClient);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('backup flow through the handlers, as the state machine drives it (s3rver, endpoint from AWS_ENDPOINT_URL_S3)', () => {
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
    vi.stubEnv('PRESIGN_SECONDS', '300');
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
  const decode = (v: string) => Buffer.from(v, 'base64url').toString('utf8');

  it('prepares, presigns in send-step, uploads, verifies, presigns the restore, and logs no URL', async () => {
    useLabEnvironment();
    const upload = (await prepareBackupHandler()({ run: RUN, estimatedBytes: 4096 })) as BackupUpload;
    expect(upload).toMatchObject({ dataKey: `backups/${RUN.hostId}/${RUN.runId}/data.tar.gz`, partCount: 1, partSizeMb: 8 });
    expect(JSON.stringify(upload)).not.toContain('http'); // nothing presigned lands in execution history

    const send = sendStepHandler();
    await send({ run: RUN, step: 'backup', extra: { target: upload } });
    const params = sentParameters();
    const [partUrl] = params.DataPartUrls!.map(decode);
    expect(partUrl).toContain(`${s3.endpoint}/fw-backups/`);

    const data = randomBytes(4096);
    const config = randomBytes(300);
    const put = await fetch(partUrl!, { method: 'PUT', body: data });
    expect((await fetch(decode(params.ConfigUrl![0]!), { method: 'PUT', body: config })).status).toBe(200);
    const resultLine = {
      step: 'backup',
      ok: true,
      mode: 'embedded',
      data: { bytes: data.length, sha256: sha256(data), format: 'tar.gz', entries: 3, parts: [{ partNumber: 1, etag: put.headers.get('etag'), bytes: data.length }] },
      config: { bytes: config.length, sha256: sha256(config), entries: 2 },
    };
    const verification = await completeBackupHandler()({ run: RUN, target: upload, backupResult: resultLine });
    expect(verification).toMatchObject({ verified: true, backupId: RUN.runId, format: 'tar.gz', dataBytes: 4096 });

    // HostRollback: begin-run's restore source carries keys and sha256, no URLs.
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
    expect(restore.DataSha256).toEqual([sha256(data)]);
    expect(restore.Mode).toEqual(['embedded']);
    expect(sha256(Buffer.from(await (await fetch(decode(restore.DataUrl![0]!))).arrayBuffer()))).toBe(sha256(data));

    expect(logged).toContain('backup verification');
    expect(logged).not.toMatch(/X-Amz-Signature|X-Amz-Credential/);
  });

  it('refuses to send a restore whose backup object does not exist', async () => {
    useLabEnvironment();
    const missing = {
      dataKey: `backups/${RUN.hostId}/gone/data.tar.gz`,
      configKey: `backups/${RUN.hostId}/gone/config.tar.gz`,
      dataSha256: 'a'.repeat(64),
      configSha256: 'b'.repeat(64),
    };
    await expect(sendStepHandler()({ run: RUN, step: 'restore', extra: { backup: missing } })).rejects.toMatchObject({
      name: 'BackupObjectMissingError',
    });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
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
