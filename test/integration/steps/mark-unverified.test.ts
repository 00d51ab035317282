/**
 * An unverified backup never looks usable in S3 (core/backup-storage/mark-unverified.ts):
 * after CompleteBackup found the completed object's composite checksum not the host's,
 * both objects carry `fleetwave-backup=unverified` with the reason, against the lab's S3.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectTaggingCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB, S3BackupStorage } from '../../../core/backup-storage';
import { markBackupUnverified, UNVERIFIED_TAG } from '../../../core/backup-storage/mark-unverified';
import { RUN, startS3, type TestS3 } from '../../support/steps';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sha256b64 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
let s3: TestS3;
let storage: S3BackupStorage;

beforeAll(async () => {
  s3 = await startS3(['backups']);
  storage = new S3BackupStorage(s3.client, { bucket: 'backups', maxParts: 32 });
});
afterAll(async () => {
  await s3?.close();
});

describe('an unverified backup in S3', () => {
  it('is tagged unverified with its reason on both objects; an object never completed is skipped', async () => {
    const data = randomBytes(3000);
    const config = randomBytes(50);
    const target = await storage.createUpload({ hostId: RUN.hostId, backupId: 'b-unverified', mode: 'embedded', estimatedBytes: data.length });
    expect(target.partSizeMb * MIB).toBeGreaterThan(data.length);
    // uploaded with the lab user's keys here; the host's own session in backup-storage.test.ts
    const part = await s3.client.send(
      new UploadPartCommand({ Bucket: 'backups', Key: target.dataKey, UploadId: target.uploadId, PartNumber: 1, Body: data, ChecksumSHA256: sha256b64(data) }),
    );
    await s3.client.send(new PutObjectCommand({ Bucket: 'backups', Key: target.configKey, Body: config, IfNoneMatch: '*', ChecksumSHA256: sha256b64(config) }));
    const notUploaded = createHash('sha256').update(createHash('sha256').update('not what was uploaded').digest()).digest('base64');
    const v = await storage.completeBackup({
      dataKey: target.dataKey,
      configKey: target.configKey,
      uploadId: target.uploadId,
      parts: [{ partNumber: 1, etag: part.ETag!, checksumSha256: sha256b64(data) }],
      reported: { bytes: data.length, sha256: sha256(data), checksumSha256: `${notUploaded}-1` },
      config: { bytes: config.length, sha256: sha256(config), checksumSha256: sha256b64(config) },
    });
    expect(v).toMatchObject({ verified: false, reason: 'data-checksum-mismatch' });

    const r = await markBackupUnverified(s3.client, 'backups', { dataKey: target.dataKey, configKey: target.configKey, reason: v.reason });

    expect(r.tagged).toEqual([target.dataKey, target.configKey]);
    for (const key of [target.dataKey, target.configKey]) {
      const tags = (await s3.client.send(new GetObjectTaggingCommand({ Bucket: 'backups', Key: key }))).TagSet;
      expect(tags).toEqual(expect.arrayContaining([UNVERIFIED_TAG, { Key: 'fleetwave-backup-reason', Value: 'data-checksum-mismatch' }]));
    }
    const never = await storage.createUpload({ hostId: RUN.hostId, backupId: 'b-never', mode: 'embedded', estimatedBytes: 10 });
    expect(await markBackupUnverified(s3.client, 'backups', { dataKey: never.dataKey, configKey: never.configKey, reason: null })).toEqual({ tagged: [] });
  });
});
