/**
 * Verification that scales (issue #11 item 3): a 500 GB backup in 10,000
 * parts of 50 MiB (S3's most parts: https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html)
 * is verified with one CompleteMultipartUpload and two HeadObject calls, the
 * same as 5 MB: nothing reads the object. S3 (mocked here; the lab S3 computes
 * it for real in test/integration/steps/backup-storage.test.ts) answers the
 * composite checksum of the parts' SHA-256 digests.
 */
import { createHash } from 'node:crypto';
import { CompleteMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { MIB, S3BackupStorage } from '../../../core/backup-storage';

const s3Mock = mockClient(S3Client);
const PARTS = 10_000;
const PART_BYTES = 50 * MIB;
const TOTAL = PARTS * PART_BYTES; // 500 GiB

/** Deterministic part digests, as the host would have computed them. */
const digest = (n: number) => createHash('sha256').update(`part-${n}`).digest();
const parts = Array.from({ length: PARTS }, (_, i) => ({ partNumber: i + 1, etag: `e${i + 1}`, bytes: PART_BYTES, checksumSha256: digest(i + 1).toString('base64') }));
const composite = `${createHash('sha256').update(Buffer.concat(parts.map((p) => digest(p.partNumber)))).digest('base64')}-${PARTS}`;
const keys = { dataKey: 'backups/h-1/b-500g/data.tar.gz', configKey: 'backups/h-1/b-500g/config.tar.gz', uploadId: 'u-1' };
const config = { bytes: 500, sha256: 'c'.repeat(64), checksumSha256: digest(0).toString('base64') };

beforeEach(() => {
  s3Mock.reset();
  // not there before completion, there after
  s3Mock
    .on(HeadObjectCommand, { Key: keys.dataKey })
    .rejectsOnce(Object.assign(new Error('NotFound'), { name: 'NotFound' }))
    .resolves({ ContentLength: TOTAL, ChecksumSHA256: composite, VersionId: 'v-data' });
  s3Mock.on(CompleteMultipartUploadCommand).resolves({ ChecksumSHA256: composite, ChecksumType: 'COMPOSITE', VersionId: 'v-data' });
  s3Mock.on(HeadObjectCommand, { Key: keys.configKey }).resolves({ ContentLength: 500, ChecksumSHA256: config.checksumSha256, VersionId: 'v-config' });
});

describe('completeBackup of 500 GiB in 10,000 parts', () => {
  it('verifies by checksums with a constant number of calls and never reads the object', async () => {
    const storage = new S3BackupStorage(new S3Client({ region: 'us-east-1' }), { bucket: 'backups', maxParts: PARTS });
    const v = await storage.completeBackup({ ...keys, parts, reported: { bytes: TOTAL, sha256: 'd'.repeat(64), checksumSha256: composite }, config });
    expect(v).toMatchObject({ verified: true, dataBytes: TOTAL, dataChecksum: composite, dataVersionId: 'v-data', configVersionId: 'v-config' });
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
    expect(s3Mock.calls()).toHaveLength(4); // exists?, complete, head data, head config
    const sent = s3Mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input;
    expect(sent.MultipartUpload!.Parts).toHaveLength(PARTS);
    expect(sent.MultipartUpload!.Parts![9_999]).toMatchObject({ PartNumber: 10_000, ChecksumSHA256: parts[9_999]!.checksumSha256 });
  });

  it('does not verify when one part of the 10,000 is not what the host hashed', async () => {
    const storage = new S3BackupStorage(new S3Client({ region: 'us-east-1' }), { bucket: 'backups', maxParts: PARTS });
    const other = `${createHash('sha256').update('another part 5000').digest('base64')}-${PARTS}`;
    const v = await storage.completeBackup({ ...keys, parts, reported: { bytes: TOTAL, sha256: 'd'.repeat(64), checksumSha256: other }, config });
    expect(v).toMatchObject({ verified: false, reason: 'data-checksum-mismatch' });
  });
});
