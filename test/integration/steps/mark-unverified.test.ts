/**
 * An unverified backup never looks usable in S3 (core/backup-storage/mark-unverified.ts):
 * after CompleteBackup found the completed object's sha256 wrong, both objects carry
 * `fleetwave-backup=unverified` with the reason, against the lab's S3 (s3rver).
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIB, S3BackupStorage } from '../../../core/backup-storage';
import { markBackupUnverified, UNVERIFIED_TAG } from '../../../core/backup-storage/mark-unverified';
import { RUN, startS3, type TestS3 } from '../../support/steps';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let s3: TestS3;
let storage: S3BackupStorage;

beforeAll(async () => {
  s3 = await startS3(['backups']);
  storage = new S3BackupStorage(s3.client, { bucket: 'backups', presignSeconds: 600, maxParts: 32 });
});
afterAll(async () => {
  await s3?.close();
});

describe('an unverified backup in S3', () => {
  it('is tagged unverified with its reason on both objects; an object never completed is skipped', async () => {
    const data = randomBytes(3000);
    const config = randomBytes(50);
    const target = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-unverified', mode: 'embedded', estimatedBytes: data.length });
    expect(target.partSizeMb * MIB).toBeGreaterThan(data.length);
    const part = await fetch(target.partUrls[0]!, { method: 'PUT', body: data, headers: { 'Content-MD5': createHash('md5').update(data).digest('base64') } });
    await fetch(target.configUrl, { method: 'PUT', body: config, headers: { 'If-None-Match': '*' } });
    const v = await storage.completeBackup({
      dataKey: target.dataKey,
      configKey: target.configKey,
      uploadId: target.uploadId,
      parts: [{ partNumber: 1, etag: part.headers.get('etag')! }],
      reported: { bytes: data.length, sha256: sha256(Buffer.from('not what was uploaded')) },
      config: { bytes: config.length, sha256: sha256(config) },
    });
    expect(v).toMatchObject({ verified: false, reason: 'data-sha256-mismatch' });

    const r = await markBackupUnverified(s3.client, 'backups', { dataKey: target.dataKey, configKey: target.configKey, reason: v.reason });

    expect(r.tagged).toEqual([target.dataKey, target.configKey]);
    for (const key of [target.dataKey, target.configKey]) {
      const tags = (await s3.client.send(new GetObjectTaggingCommand({ Bucket: 'backups', Key: key }))).TagSet;
      expect(tags).toEqual(expect.arrayContaining([UNVERIFIED_TAG, { Key: 'fleetwave-backup-reason', Value: 'data-sha256-mismatch' }]));
    }
    const never = await storage.prepareBackup({ hostId: RUN.hostId, backupId: 'b-never', mode: 'embedded', estimatedBytes: 10 });
    expect(await markBackupUnverified(s3.client, 'backups', { dataKey: never.dataKey, configKey: never.configKey, reason: null })).toEqual({ tagged: [] });
  });
});
