import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  BackupTooLargeError,
  checkBackupKeys,
  choosePartSize,
  InvalidBackupKeyError,
  MIB,
  S3BackupStorage,
  type BackupUpload,
} from '../../../core/backup-storage';
import { buildStepParameters } from '../../../core/host-steps';
import { LAB_HOST_ROLE_ARN } from '../../../lab/hosts/credentials';
import { RUN, startS3, type TestS3 } from '../../support/steps';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
/** base64(SHA-256(part digests)) `-N`, as S3 computes it for a COMPOSITE multipart object. */
const composite = (parts: Buffer[]) => `${createHash('sha256').update(Buffer.concat(parts.map((p) => createHash('sha256').update(p).digest()))).digest('base64')}-${parts.length}`;

/** A host's own client: its role session (prefix-scoped), as the backup script signs with it. */
function hostClient(s3: TestS3, prefixes = [`backups/${RUN.hostId}/`]): S3Client {
  const c = s3.sts.assumeRole({ roleArn: LAB_HOST_ROLE_ARN, sessionName: RUN.instanceId, access: { objectPrefixes: prefixes } });
  return new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** What the backup script does: each part with x-amz-checksum-sha256, the config as a conditional create with its checksum. */
async function uploadLikeTheHost(host: S3Client, target: BackupUpload, data: Buffer, config: Buffer) {
  const partSize = target.partSizeMb * MIB;
  const parts = [];
  const bodies: Buffer[] = [];
  for (let i = 0, n = 1; i < data.length; i += partSize, n++) {
    const body = data.subarray(i, i + partSize);
    const res = await host.send(
      new UploadPartCommand({ Bucket: 'backups', Key: target.dataKey, UploadId: target.uploadId, PartNumber: n, Body: body, ChecksumSHA256: sha256b64(body) }),
    );
    parts.push({ partNumber: n, etag: res.ETag!, bytes: body.length, checksumSha256: sha256b64(body) });
    bodies.push(body);
  }
  await host.send(new PutObjectCommand({ Bucket: 'backups', Key: target.configKey, Body: config, IfNoneMatch: '*', ChecksumSHA256: sha256b64(config) }));
  return { parts, reported: { bytes: data.length, sha256: sha256(data), checksumSha256: composite(bodies) }, config: { bytes: config.length, sha256: sha256(config), checksumSha256: sha256b64(config) } };
}

describe('choosePartSize', () => {
  it('uses 8 MiB parts for small backups, with 1.5x headroom', () => {
    expect(choosePartSize(0, 32)).toEqual({ partSizeMb: 8, partCount: 1 });
    expect(choosePartSize(10 * MIB, 32)).toEqual({ partSizeMb: 8, partCount: 2 });
  });
  it('grows parts so 1.5x the estimate fits in MAX_PARTS', () => {
    const { partSizeMb, partCount } = choosePartSize(100 * 1024 * MIB, 32);
    expect(partCount).toBe(32);
    expect(partSizeMb * MIB * partCount).toBeGreaterThanOrEqual(150 * 1024 * MIB);
  });
  it('refuses what 5 GiB parts cannot hold', () => {
    expect(() => choosePartSize(110 * 1024 * MIB, 32)).toThrow(BackupTooLargeError);
  });
});

describe('checkBackupKeys', () => {
  it('accepts this host\'s keys and refuses other hosts, traversal and mixed backups', () => {
    expect(() => checkBackupKeys({ dataKey: 'backups/h-1/b-1/data.tar.gz', configKey: 'backups/h-1/b-1/config.tar.gz' }, 'h-1')).not.toThrow();
    for (const keys of [
      { dataKey: 'backups/h-2/b-1/data.tar.gz' },
      { dataKey: 'backups/h-1/../h-2/data.tar.gz' },
      { dataKey: 'command-output/x/stdout' },
      { dataKey: 'backups/h-1/b-1/data.pgdump', configKey: 'backups/h-1/b-2/config.tar.gz' },
    ]) {
      expect(() => checkBackupKeys(keys, 'h-1')).toThrow(InvalidBackupKeyError);
    }
  });
});

describe('S3BackupStorage against the lab S3 (SigV4, sessions, SHA-256 checksums)', () => {
  let s3: TestS3;
  let storage: S3BackupStorage;
  let host: S3Client;
  beforeAll(async () => {
    s3 = await startS3(['backups']);
    storage = new S3BackupStorage(s3.client, { bucket: 'backups', maxParts: 32 });
    host = hostClient(s3);
  });
  afterAll(async () => {
    host?.destroy();
    await s3?.close();
  });

  /** Everything the bucket holds: objects with their ETags, and the multipart uploads still open. */
  const bucketState = async () => {
    const objects = await s3.client.send(new ListObjectsV2Command({ Bucket: 'backups' }));
    const uploads = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: 'backups' }));
    return {
      objects: (objects.Contents ?? []).map((o) => `${o.Key} ${o.ETag}`).sort(),
      uploads: (uploads.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`).sort(),
    };
  };
  const errorName = (p: Promise<unknown>) => p.then(() => 'no error', (e: { name?: string }) => e.name);
  const exists = (Key: string) =>
    s3.client.send(new HeadObjectCommand({ Bucket: 'backups', Key })).then(
      () => true,
      () => false,
    );
  const prepare = (backupId: string, estimatedBytes: number, mode: 'embedded' | 'external' = 'embedded') =>
    storage.createUpload({ hostId: RUN.hostId, backupId, mode, estimatedBytes });

  it('takes a multipart upload the host signs itself and verifies it by checksums, without reading it back', async () => {
    const data = randomBytes(9 * MIB + 12345); // two parts of 8 MiB
    const config = randomBytes(2048);
    const target = await prepare('b-ok', 10 * MIB);
    expect(target).toMatchObject({ dataKey: `backups/${RUN.hostId}/b-ok/data.tar.gz`, configKey: `backups/${RUN.hostId}/b-ok/config.tar.gz`, partSizeMb: 8, partCount: 2 });
    // what send-step hands to the host passes the document patterns, and names no URL
    const params = buildStepParameters('backup', RUN, { target: { ...target, bucket: 'backups', region: 'us-east-1' } });
    expect(JSON.stringify(params)).not.toMatch(/https?:|X-Amz-/);

    const up = await uploadLikeTheHost(host, target, data, config);
    expect(await exists(target.dataKey)).toBe(false); // nothing final before completion
    const v = await storage.completeBackup({ ...target, ...up, parts: [...up.parts].reverse() }); // order as reported must not matter
    expect(v).toMatchObject({ verified: true, reason: null, dataBytes: data.length, dataSha256: sha256(data), dataChecksum: up.reported.checksumSha256, configSha256: sha256(config) });
    const got = await host.send(new GetObjectCommand({ Bucket: 'backups', Key: target.dataKey }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(data));
  });

  it('refuses a part whose bytes do not match its checksum (BadDigest), storing nothing', async () => {
    const target = await prepare('b-digest', 1024);
    const body = randomBytes(1024);
    const sent = host.send(new UploadPartCommand({ Bucket: 'backups', Key: target.dataKey, UploadId: target.uploadId, PartNumber: 1, Body: body, ChecksumSHA256: sha256b64(randomBytes(8)) }));
    await expect(sent).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    const listed = await s3.client.send(new ListPartsCommand({ Bucket: 'backups', Key: target.dataKey, UploadId: target.uploadId }));
    expect(listed.Parts ?? []).toEqual([]);
  });

  it('reports verified false when the host\'s composite checksum is not the one S3 computed', async () => {
    const data = randomBytes(300_000);
    const target = await prepare('b-bad', data.length);
    const up = await uploadLikeTheHost(host, target, data, randomBytes(100));
    const v = await storage.completeBackup({ ...target, ...up, reported: { ...up.reported, checksumSha256: composite([randomBytes(10)]) } });
    expect(v).toMatchObject({ verified: false, reason: 'data-checksum-mismatch', dataChecksum: up.reported.checksumSha256 });
  });

  it('reports verified false on a size mismatch, and verifies again on a retry after completion', async () => {
    const data = randomBytes(5000);
    const target = await prepare('b-size', 5000);
    const up = await uploadLikeTheHost(host, target, data, randomBytes(10));
    expect(await storage.completeBackup({ ...target, ...up, reported: { ...up.reported, bytes: 4999 } })).toMatchObject({ verified: false, reason: 'data-size-mismatch' });
    // the upload is complete now; a retry with the right report verifies the object S3 holds
    expect(await storage.completeBackup({ ...target, ...up })).toMatchObject({ verified: true, dataBytes: 5000 });
  });

  it('writes each backup object once: a second conditional create of the config replaces nothing', async () => {
    const target = await prepare('b-once', 1024);
    const up = await uploadLikeTheHost(host, target, randomBytes(1024), randomBytes(512));
    expect(await storage.completeBackup({ ...target, ...up })).toMatchObject({ verified: true });
    const again = host.send(new PutObjectCommand({ Bucket: 'backups', Key: target.configKey, Body: randomBytes(512), IfNoneMatch: '*' }));
    await expect(again).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    expect(await storage.completeBackup({ ...target, ...up })).toMatchObject({ verified: true, configSha256: up.config.sha256 });
  });

  it('lets a host session touch only its own prefix, and refuses keys the STS never issued', async () => {
    const target = await prepare('b-scope', 100);
    const other = hostClient(s3, ['backups/another-host/']);
    const put = other.send(new UploadPartCommand({ Bucket: 'backups', Key: target.dataKey, UploadId: target.uploadId, PartNumber: 1, Body: randomBytes(100) }));
    await expect(put).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    other.destroy();
    const forged = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'ASIAFORGED0000000000', secretAccessKey: 'x'.repeat(40), sessionToken: 't' } });
    await expect(forged.send(new HeadObjectCommand({ Bucket: 'backups', Key: target.dataKey }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    forged.destroy();
  });

  it('names pgdump data for external databases', async () => {
    const target = await prepare('b-ext', 1000, 'external');
    expect(target.dataKey).toBe(`backups/${RUN.hostId}/b-ext/data.pgdump`);
    expect(target.partCount).toBe(1);
  });

  it('never verifies an empty backup', async () => {
    const v = await storage.completeBackup({
      dataKey: `backups/${RUN.hostId}/b-empty/data.tar.gz`,
      configKey: `backups/${RUN.hostId}/b-empty/config.tar.gz`,
      uploadId: 'u',
      parts: [{ partNumber: 1, etag: 'e', checksumSha256: sha256b64(Buffer.alloc(0)) }],
      reported: { bytes: 0, sha256: sha256(Buffer.alloc(0)), checksumSha256: composite([Buffer.alloc(0)]) },
      config: { bytes: 1, sha256: 'c'.repeat(64), checksumSha256: sha256b64(Buffer.alloc(1)) },
    });
    expect(v).toMatchObject({ verified: false, reason: 'empty-backup' });
  });

  it('aborts a failed backup: its parts are freed, the upload is gone, no data object appears, and it can be repeated', async () => {
    const target = await prepare('b-abort', 5000);
    const body = randomBytes(5000);
    const upload = { Bucket: 'backups', Key: target.dataKey, UploadId: target.uploadId };
    const put = await host.send(new UploadPartCommand({ ...upload, PartNumber: 1, Body: body, ChecksumSHA256: sha256b64(body) }));
    const listed = await s3.client.send(new ListPartsCommand(upload));
    expect(listed.Parts?.map((p) => ({ n: p.PartNumber, size: p.Size }))).toEqual([{ n: 1, size: 5000 }]);

    const first = await storage.abortBackup({ dataKey: target.dataKey, uploadId: target.uploadId });
    const again = await storage.abortBackup({ dataKey: target.dataKey, uploadId: target.uploadId });
    expect(first).toEqual({ aborted: true, objectExists: false, reason: null });
    expect(again).toEqual({ aborted: false, objectExists: false, reason: 'no-such-upload' });
    expect(await exists(target.dataKey)).toBe(false);
    expect(await errorName(s3.client.send(new ListPartsCommand(upload)))).toBe('NoSuchUpload');
    const complete = new CompleteMultipartUploadCommand({ ...upload, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: put.ETag! }] } });
    expect(await errorName(s3.client.send(complete))).toBe('NoSuchUpload');
    expect(await errorName(host.send(new UploadPartCommand({ ...upload, PartNumber: 1, Body: randomBytes(10) })))).toBe('NoSuchUpload');
    expect((await bucketState()).uploads.filter((u) => u.startsWith(target.dataKey))).toEqual([]);
  });

  it('creates nothing for a backup too large to fit: no object, no open upload', async () => {
    const before = await bucketState();
    await expect(prepare('b-huge', 200 * 1024 * 1024 * MIB)).rejects.toMatchObject({ name: 'BackupTooLargeError' });
    expect(before.uploads.length).toBeGreaterThan(0); // earlier tests left uploads open: the listing sees them
    expect(await bucketState()).toEqual(before);
  });
});
