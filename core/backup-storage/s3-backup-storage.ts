/**
 * `BackupStorage` over S3 multipart uploads with SHA-256 additional
 * checksums. The orchestrator creates and completes the upload; the host
 * uploads the parts itself, signed with its own role (ssm-documents/scripts/s3.sh),
 * each with `x-amz-checksum-sha256`, which S3 checks on arrival. Completion
 * lists every part's checksum and S3 answers the composite checksum (the
 * SHA-256 of the parts' digests, `-N`); it must equal the composite of what the
 * host hashed, and HeadObject's size what the host counted. Nothing reads the
 * object back, so verification takes the same few requests at any size.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
 *
 * Encryption is the bucket's default (SSE-KMS, set by the stack): setting SSE
 * headers here would make them headers every host request must repeat.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { backupKeys, checkBackupKeys, choosePartSize } from './layout';
import type { AbortResult, BackupStorage, BackupUpload, BackupVerification, CompleteBackupInput, PrepareBackupInput } from './ports';

export interface S3BackupStorageOptions {
  bucket: string;
  /** Most parts a host may upload. Default 32. */
  maxParts?: number;
}

const errorName = (err: unknown) => (err as { name?: string })?.name ?? '';
const httpStatus = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const isNotFound = (err: unknown) => ['NotFound', 'NoSuchKey'].includes(errorName(err)) || httpStatus(err) === 404;
const stripQuotes = (etag: string) => etag.replace(/"/g, '');

export class S3BackupStorage implements BackupStorage {
  private readonly options: Required<S3BackupStorageOptions>;

  constructor(
    private readonly s3: S3Client,
    options: S3BackupStorageOptions,
  ) {
    this.options = { maxParts: 32, ...options };
    const { maxParts } = this.options;
    if (!(Number.isInteger(maxParts) && maxParts >= 1 && maxParts <= 10_000)) throw new RangeError('maxParts must be 1..10000');
  }

  async createUpload(input: PrepareBackupInput): Promise<BackupUpload> {
    // Sizing first: a too-large backup creates nothing.
    const { partSizeMb, partCount } = choosePartSize(input.estimatedBytes, this.options.maxParts);
    const format = input.mode === 'external' ? 'pgdump' : 'tar.gz';
    const { dataKey, configKey } = backupKeys(input.hostId, input.backupId, format);
    const created = await this.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: this.options.bucket,
        Key: dataKey,
        ContentType: format === 'pgdump' ? 'application/octet-stream' : 'application/gzip',
        // every part must then carry its SHA-256; the object gets the composite checksum
        ChecksumAlgorithm: 'SHA256',
        ChecksumType: 'COMPOSITE',
        Metadata: { 'fleetwave-host': input.hostId, 'fleetwave-backup': input.backupId },
      }),
    );
    if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    return { backupId: input.backupId, hostId: input.hostId, format, dataKey, configKey, uploadId: created.UploadId, partSizeMb, partCount };
  }

  async completeBackup(input: CompleteBackupInput): Promise<BackupVerification> {
    checkBackupKeys({ dataKey: input.dataKey, configKey: input.configKey });
    const { bucket } = this.options;
    const outcome: BackupVerification = {
      verified: false,
      reason: null,
      dataKey: input.dataKey,
      configKey: input.configKey,
      dataBytes: null,
      dataSha256: null,
      configBytes: null,
      configSha256: null,
      dataVersionId: null,
      configVersionId: null,
    };
    const fail = (reason: string): BackupVerification => ({ ...outcome, verified: false, reason });

    if (input.reported.bytes === 0) return fail('empty-backup');
    const parts = [...input.parts].sort((a, b) => a.partNumber - b.partNumber);
    if (parts.some((p, i) => p.partNumber !== i + 1)) return fail('parts-not-contiguous');

    const completion = await this.complete(input.dataKey, input.uploadId, parts);
    if (completion.failed) return fail(completion.failed);

    const data = await this.head(input.dataKey);
    if (!data) return fail('data-object-missing');
    const dataChecksum = completion.checksum ?? data.checksum;
    Object.assign(outcome, {
      dataBytes: data.bytes,
      dataSha256: input.reported.sha256,
      dataVersionId: completion.versionId ?? data.versionId,
      dataChecksum,
    });
    if (data.bytes !== input.reported.bytes) return fail('data-size-mismatch');
    if (dataChecksum === null) return fail('data-checksum-missing');
    if (dataChecksum !== input.reported.checksumSha256) return fail('data-checksum-mismatch');

    const config = await this.head(input.configKey);
    if (!config) return fail('config-object-missing');
    Object.assign(outcome, { configBytes: config.bytes, configSha256: input.config.sha256, configVersionId: config.versionId });
    if (config.bytes === 0) return fail('empty-config');
    if (config.bytes !== input.config.bytes) return fail('config-size-mismatch');
    if (config.checksum === null) return fail('config-checksum-missing');
    if (config.checksum !== input.config.checksumSha256) return fail('config-checksum-mismatch');

    return { ...outcome, verified: true, reason: null };
  }

  /**
   * CompleteMultipartUpload, safe to repeat: an object already at the key
   * means an earlier attempt of this task completed the upload (keys are
   * unique per backup), so it is verified rather than completed again (S3
   * would answer NoSuchUpload; s3rver an InternalError). The completion is a
   * conditional create (the bucket policy refuses any other): one racing an
   * earlier completion gets 412 and replaces nothing. The host's bad parts
   * (wrong ETag, a part too small) are an outcome, not an exception.
   */
  private async complete(
    dataKey: string,
    uploadId: string,
    parts: { partNumber: number; etag: string; checksumSha256: string }[],
  ): Promise<{ failed: string | null; versionId: string | null; checksum: string | null }> {
    const none = { failed: null, versionId: null, checksum: null };
    if (await this.exists(dataKey)) return none;
    try {
      const done = await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: dataKey,
          UploadId: uploadId,
          IfNoneMatch: '*',
          ChecksumType: 'COMPOSITE',
          MultipartUpload: {
            Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${stripQuotes(p.etag)}"`, ChecksumSHA256: p.checksumSha256 })),
          },
        }),
      );
      return { failed: null, versionId: done.VersionId ?? null, checksum: done.ChecksumSHA256 ?? null };
    } catch (err) {
      const name = errorName(err);
      // completed concurrently: verification reads what is there
      if (name === 'NoSuchUpload' || name === 'PreconditionFailed' || httpStatus(err) === 412) return none;
      if (['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'MalformedXML', 'InvalidRequest', 'BadDigest'].includes(name)) {
        return { ...none, failed: `complete-failed:${name}` };
      }
      throw err;
    }
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** Size, version and additional checksum from HeadObject (ChecksumMode ENABLED): what S3 holds, without reading it. */
  private async head(key: string): Promise<{ bytes: number; checksum: string | null; versionId: string | null } | null> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key, ChecksumMode: 'ENABLED' }));
      return { bytes: head.ContentLength ?? -1, checksum: head.ChecksumSHA256 ?? null, versionId: head.VersionId ?? null };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async abortBackup(input: { dataKey: string; uploadId: string }): Promise<AbortResult> {
    checkBackupKeys({ dataKey: input.dataKey });
    const { bucket } = this.options;
    let aborted = false;
    let reason: string | null = null;
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: input.dataKey, UploadId: input.uploadId }));
      aborted = true;
    } catch (err) {
      if (errorName(err) === 'NoSuchUpload') {
        reason = 'no-such-upload'; // already aborted, or completed earlier
      } else if (errorName(err) === 'MethodNotAllowed' || errorName(err) === 'NotImplemented') {
        // s3rver (the lab) has no AbortMultipartUpload. An upload never
        // completed leaves no object either way; the bucket's lifecycle rule
        // removes stale parts on AWS. The HeadObject below is the real check.
        reason = 'abort-unsupported';
      } else {
        throw err;
      }
    }
    return { aborted, objectExists: await this.exists(input.dataKey), reason };
  }
}
