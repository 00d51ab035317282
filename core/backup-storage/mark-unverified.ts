/**
 * An unverified backup never looks usable in S3 either: once CompleteBackup
 * found the completed object's size or sha256 wrong (or the config object
 * wrong), both objects are tagged `fleetwave-backup=unverified` with the
 * reason, so nothing reading the bucket (an operator, a lifecycle rule, a
 * restore by hand) mistakes them for a backup. The registry marks the backup
 * failed (RecordVerification) and `backups list` never offers it.
 *
 * Tagged, not deleted: the bucket is versioned and fleetwave never deletes
 * backup objects (lib/task-functions.ts). Facts (PutObjectTagging,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html):
 * the tag set replaces the object's tags, at most 10 tags per object; tagging
 * a given version (versionId) needs s3:PutObjectVersionTagging as well as
 * s3:PutObjectTagging. Tag values are at most 256 characters (Tag Restrictions,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html).
 */
import { PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { checkBackupKeys } from './layout';

export const UNVERIFIED_TAG = { Key: 'fleetwave-backup', Value: 'unverified' } as const;

export interface UnverifiedObjects {
  dataKey: string;
  configKey: string;
  dataVersionId?: string | null;
  configVersionId?: string | null;
  /** Why verification failed (BackupVerification.reason). */
  reason: string | null;
}

const isMissing = (err: unknown) => ['NoSuchKey', 'NotFound', 'NoSuchVersion'].includes((err as Error).name) || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

/** Tag both objects of an unverified backup; an object that was never completed is skipped. Returns the keys tagged. */
export async function markBackupUnverified(s3: S3Client, bucket: string, o: UnverifiedObjects): Promise<{ tagged: string[] }> {
  checkBackupKeys({ dataKey: o.dataKey, configKey: o.configKey });
  const reason = (o.reason ?? 'unverified').replace(/[^A-Za-z0-9 +\-=._:/@]/g, '_').slice(0, 256);
  const tagged: string[] = [];
  for (const [key, versionId] of [
    [o.dataKey, o.dataVersionId],
    [o.configKey, o.configVersionId],
  ] as const) {
    try {
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: bucket,
          Key: key,
          ...(versionId ? { VersionId: versionId } : {}),
          Tagging: { TagSet: [UNVERIFIED_TAG, { Key: 'fleetwave-backup-reason', Value: reason }] },
        }),
      );
      tagged.push(key);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return { tagged };
}
