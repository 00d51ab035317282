import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CompleteMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  BackupTooLargeError,
  checkBackupKeys,
  choosePartSize,
  InvalidBackupKeyError,
  MIB,
  PresignConfigurationError,
  S3BackupStorage,
  type BackupTarget,
} from '../../../core/backup-storage';
import { buildStepParameters } from '../../../core/host-steps';
import { RUN, startS3, type TestS3 } from '../../support/steps';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** What the backup script does: PUT each part with Content-MD5, keep the ETags. */
async function uploadLikeTheHost(target: BackupTarget, data: Buffer, config: Buffer) {
  const partSize = target.partSizeMb * MIB;
  const parts = [];
  for (let i = 0, n = 1; i < data.length; i += partSize, n++) {
    const body = data.subarray(i, i + partSize);
    const res = await fetch(target.partUrls[n - 1]!, {
      method: 'PUT',
      body,
      headers: { 'Content-MD5': createHash('md5').update(body).digest('base64') },
    });
    expect(res.status).toBe(200);
    parts.push({ partNumber: n, etag: res.headers.get('etag')!, bytes: body.length });
  }
  const res = await fetch(target.configUrl, { method: 'PUT', body: config, headers: { 'If-None-Match': '*' } });
  expect(res.status).toBe(200);
  return parts;
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

describe('S3BackupStorage against s3rver', () => {
  let s3: TestS3;
  let storage: S3BackupStorage;
  beforeAll(async () => {
    s3 = await startS3(['backups']);
    storage = new S3BackupStorage(s3.client, { bucket: 'backups', presignSeconds: 600, maxParts: 32 });
  });
  afterAll(async () => s3?.close());

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

  it('prepares, takes a multipart upload through presigned URLs, and verifies it end to end', async () => {
    const data = randomBytes(9 * MIB + 12345); // two parts of 8 MiB
    const config = randomBytes(2048);
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-ok', mode: 'embedded', estimatedBytes: 10 * MIB });

    expect(target).toMatchObject({ dataKey: `backups/${RUN.hostId}/b-ok/data.tar.gz`, configKey: `backups/${RUN.hostId}/b-ok/config.tar.gz`, partSizeMb: 8 });
    expect(target.partUrls).toHaveLength(2);
    // WHEN_REQUIRED: no checksum of an empty body signed into the URLs.
    for (const url of [...target.partUrls, target.configUrl]) expect(url).not.toMatch(/x-amz-checksum|x-amz-sdk-checksum/i);
    // What send-step will hand to the host passes the document patterns.
    expect(() => buildStepParameters('backup', RUN, { backup: target })).not.toThrow();

    const parts = await uploadLikeTheHost(target, data, config);
    expect(await exists(target.dataKey)).toBe(false); // nothing final before completion

    const v = await storage.completeBackup({
      dataKey: target.dataKey,
      configKey: target.configKey,
      uploadId: target.uploadId,
      parts: [...parts].reverse(), // order as reported must not matter
      reported: { bytes: data.length, sha256: sha256(data) },
      config: { bytes: config.length, sha256: sha256(config) },
    });
    expect(v).toMatchObject({ verified: true, reason: null, dataBytes: data.length, dataSha256: sha256(data), configSha256: sha256(config) });

    const restore = await storage.presignRestore({ dataKey: target.dataKey, configKey: target.configKey });
    const downloaded = Buffer.from(await (await fetch(restore.dataUrl)).arrayBuffer());
    expect(sha256(downloaded)).toBe(sha256(data));
  });

  it('writes each backup object once: the config URL is a conditional create, a second write replaces nothing', async () => {
    const data = randomBytes(1024);
    const config = randomBytes(512);
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-once', mode: 'embedded', estimatedBytes: 1024 });
    // If-None-Match is signed into the URL: a host cannot drop it and overwrite
    expect(new URL(target.configUrl).searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain('if-none-match');
    const parts = await uploadLikeTheHost(target, data, config);
    const input = {
      dataKey: target.dataKey,
      configKey: target.configKey,
      uploadId: target.uploadId,
      parts,
      reported: { bytes: data.length, sha256: sha256(data) },
      config: { bytes: config.length, sha256: sha256(config) },
    };
    expect(await storage.completeBackup(input)).toMatchObject({ verified: true });

    const again = await fetch(target.configUrl, { method: 'PUT', body: randomBytes(512), headers: { 'If-None-Match': '*' } });
    expect(again.status).toBe(412);
    // Without the header AWS refuses the URL (a signed header is missing) and the bucket policy
    // refuses the write; s3rver checks no SigV4 signature, so that half is the template's test.
    expect(await storage.completeBackup(input)).toMatchObject({ verified: true, configSha256: sha256(config) });
  });

  it('presigns a restore of the recorded versions, not of whatever is current', async () => {
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-ver', mode: 'embedded', estimatedBytes: 1024 });
    const data = randomBytes(1024);
    const parts = await uploadLikeTheHost(target, data, randomBytes(64));
    await storage.completeBackup({
      ...target,
      parts,
      reported: { bytes: data.length, sha256: sha256(data) },
      config: { bytes: 64, sha256: 'x'.repeat(64) },
    });
    const keys = { dataKey: target.dataKey, configKey: target.configKey };
    const pinned = await storage.presignRestore({ ...keys, dataVersionId: 'v-data.1', configVersionId: 'v-config.1' });
    expect(new URL(pinned.dataUrl).searchParams.get('versionId')).toBe('v-data.1');
    expect(new URL(pinned.configUrl).searchParams.get('versionId')).toBe('v-config.1');
    // a backup recorded before version ids were kept (or on unversioned storage) still restores its key
    const plain = await storage.presignRestore(keys);
    expect(new URL(plain.dataUrl).searchParams.has('versionId')).toBe(false);
  });

  it('names pgdump data for external databases', async () => {
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-ext', mode: 'external', estimatedBytes: 1000 });
    expect(target.dataKey).toBe(`backups/${RUN.hostId}/b-ext/data.pgdump`);
    expect(target.partUrls).toHaveLength(1);
  });

  it('reports verified false when the host\'s sha256 does not match what S3 holds', async () => {
    const data = randomBytes(300_000);
    const config = randomBytes(100);
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-bad', mode: 'embedded', estimatedBytes: data.length });
    const parts = await uploadLikeTheHost(target, data, config);
    const v = await storage.completeBackup({
      dataKey: target.dataKey,
      configKey: target.configKey,
      uploadId: target.uploadId,
      parts,
      reported: { bytes: data.length, sha256: sha256(Buffer.from('something else')) },
      config: { bytes: config.length, sha256: sha256(config) },
    });
    expect(v).toMatchObject({ verified: false, reason: 'data-sha256-mismatch', dataSha256: sha256(data) });
  });

  it('reports verified false on a size mismatch, and verifies again on a retry after completion', async () => {
    const data = randomBytes(5000);
    const config = randomBytes(10);
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-size', mode: 'embedded', estimatedBytes: 5000 });
    const parts = await uploadLikeTheHost(target, data, config);
    const base = { dataKey: target.dataKey, configKey: target.configKey, uploadId: target.uploadId, parts, config: { bytes: config.length, sha256: sha256(config) } };
    expect(await storage.completeBackup({ ...base, reported: { bytes: 4999, sha256: sha256(data) } })).toMatchObject({
      verified: false,
      reason: 'data-size-mismatch',
    });
    // the upload is complete now; a retry with the right report verifies the object S3 holds
    expect(await storage.completeBackup({ ...base, reported: { bytes: 5000, sha256: sha256(data) } })).toMatchObject({
      verified: true,
      reason: null,
      dataBytes: 5000,
      dataSha256: sha256(data),
      configSha256: sha256(config),
    });
  });

  it('never verifies an empty backup', async () => {
    const v = await storage.completeBackup({
      dataKey: `backups/${RUN.hostId}/b-empty/data.tar.gz`,
      configKey: `backups/${RUN.hostId}/b-empty/config.tar.gz`,
      uploadId: 'u',
      parts: [{ partNumber: 1, etag: 'e' }],
      reported: { bytes: 0, sha256: sha256(Buffer.alloc(0)) },
      config: { bytes: 1, sha256: 'c'.repeat(64) },
    });
    expect(v).toMatchObject({ verified: false, reason: 'empty-backup' });
  });

  it('aborts a failed backup: its parts are freed, the upload is gone, no data object appears, and it can be repeated', async () => {
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-abort', mode: 'embedded', estimatedBytes: 5000 });
    const put = await fetch(target.partUrls[0]!, { method: 'PUT', body: randomBytes(5000) });
    const upload = { Bucket: 'backups', Key: target.dataKey, UploadId: target.uploadId };
    const listed = await s3.client.send(new ListPartsCommand(upload));
    expect(listed.Parts?.map((p) => ({ n: p.PartNumber, size: p.Size }))).toEqual([{ n: 1, size: 5000 }]);

    const first = await storage.abortBackup({ dataKey: target.dataKey, uploadId: target.uploadId });
    const again = await storage.abortBackup({ dataKey: target.dataKey, uploadId: target.uploadId });

    expect(first).toEqual({ aborted: true, objectExists: false, reason: null });
    expect(again).toEqual({ aborted: false, objectExists: false, reason: 'no-such-upload' });
    expect(await exists(target.dataKey)).toBe(false);
    // the upload is gone with its parts: nothing can list, complete or extend it
    expect(await errorName(s3.client.send(new ListPartsCommand(upload)))).toBe('NoSuchUpload');
    const complete = new CompleteMultipartUploadCommand({ ...upload, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: put.headers.get('etag')! }] } });
    expect(await errorName(s3.client.send(complete))).toBe('NoSuchUpload');
    const late = await fetch(target.partUrls[0]!, { method: 'PUT', body: randomBytes(10) });
    expect(late.status).toBe(404);
    expect(await late.text()).toContain('<Code>NoSuchUpload</Code>');
    expect((await bucketState()).uploads.filter((u) => u.startsWith(target.dataKey))).toEqual([]);
  });

  it('refuses to presign with an S3 client that would sign an empty-body checksum', async () => {
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const bad = new S3BackupStorage(client, { bucket: 'backups' });
    await expect(bad.prepareBackup({ hostId: RUN.hostId, backupId: 'b-x', mode: 'embedded', estimatedBytes: 1 })).rejects.toBeInstanceOf(
      PresignConfigurationError,
    );
    client.destroy();
  });

  it('gives later parts the time the earlier ones take, never more than an hour', async () => {
    const slow = new S3BackupStorage(s3.client, { bucket: 'backups', presignSeconds: 900, maxParts: 32, minTransferMibPerSecond: 1 });
    const target = await slow.prepareBackup({ hostId: RUN.hostId, backupId: 'b-exp', mode: 'embedded', estimatedBytes: 40 * 1024 * MIB });
    const expires = target.partUrls.map((u) => Number(new URL(u).searchParams.get('X-Amz-Expires')));
    expect(expires[0]).toBe(900);
    expect(expires[1]).toBe(900 + target.partSizeMb); // one part at 1 MiB/s
    expect(Math.max(...expires)).toBe(3600);
    expect(expires).toEqual([...expires].sort((a, b) => a - b));
  });

  it('refuses to presign a restore of a backup that is not there', async () => {
    await expect(
      storage.presignRestore({ dataKey: `backups/${RUN.hostId}/nope/data.tar.gz`, configKey: `backups/${RUN.hostId}/nope/config.tar.gz` }),
    ).rejects.toMatchObject({ name: 'BackupObjectMissingError' });
  });

  it('creates nothing for a backup too large to fit: no object, no open upload', async () => {
    const before = await bucketState();
    await expect(
      storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-huge', mode: 'embedded', estimatedBytes: 200 * 1024 * 1024 * MIB }),
    ).rejects.toMatchObject({ name: 'BackupTooLargeError' });
    expect(before.uploads.length).toBeGreaterThan(0); // earlier tests left uploads open: the listing sees them
    expect(await bucketState()).toEqual(before);
  });
});
