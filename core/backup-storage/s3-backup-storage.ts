/**
 * `BackupStorage` over S3 multipart uploads and presigned URLs. The host
 * never holds AWS credentials: it gets one presigned URL per part (scoped to
 * one key, one upload, one part number, short-lived) and reports ETags and
 * its own sha256; the orchestrator completes the upload and re-reads the
 * object to check size and sha256 end to end before anything is upgraded.
 *
 * Encryption is the bucket's default (SSE-KMS, set by the stack): setting SSE
 * headers here would make them signed headers every host request must repeat.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BackupObjectMissingError, PresignConfigurationError } from './errors';
import { backupKeys, checkBackupKeys, choosePartSize } from './layout';
import type {
  AbortResult,
  BackupStorage,
  BackupTarget,
  BackupUpload,
  BackupVerification,
  CompleteBackupInput,
  PrepareBackupInput,
  RestoreObjects,
  RestoreUrls,
  UploadUrls,
} from './ports';

/** SigV4 allows a week; fleetwave keeps every URL under an hour. */
export const MAX_PRESIGN_SECONDS = 3600;

export interface S3BackupStorageOptions {
  bucket: string;
  /** Presigned URL lifetime; at most one hour. Default 900. */
  presignSeconds?: number;
  /** Most part URLs handed to a host. Default 32. */
  maxParts?: number;
  /**
   * Slowest transfer rate planned for, in MiB/s (default 2). A URL is checked
   * when its request starts: part N starts after parts 1..N-1 went through,
   * and a restore downloads the data twice (verify, then restore), so later
   * URLs get that much longer, still capped at one hour.
   */
  minTransferMibPerSecond?: number;
  now?: () => number;
}

const errorName = (err: unknown) => (err as { name?: string })?.name ?? '';
const httpStatus = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const isNotFound = (err: unknown) => ['NotFound', 'NoSuchKey'].includes(errorName(err)) || httpStatus(err) === 404;
const stripQuotes = (etag: string) => etag.replace(/"/g, '');

export class S3BackupStorage implements BackupStorage {
  private checkedPresign = false;
  private readonly options: Required<Omit<S3BackupStorageOptions, 'now'>> & Pick<S3BackupStorageOptions, 'now'>;

  constructor(
    private readonly s3: S3Client,
    options: S3BackupStorageOptions,
  ) {
    this.options = { presignSeconds: 900, maxParts: 32, minTransferMibPerSecond: 2, ...options };
    const { presignSeconds, maxParts } = this.options;
    if (!(Number.isInteger(presignSeconds) && presignSeconds >= 1 && presignSeconds <= MAX_PRESIGN_SECONDS)) {
      throw new RangeError('presignSeconds must be an integer between 1 and 3600');
    }
    if (!(Number.isInteger(maxParts) && maxParts >= 1 && maxParts <= 10_000)) throw new RangeError('maxParts must be 1..10000');
  }

  private now() {
    return (this.options.now ?? Date.now)();
  }

  /**
   * With the SDK's default (WHEN_SUPPORTED) a presigned UploadPart/PutObject
   * carries the CRC32 of an empty body, and S3 rejects the host's real bytes.
   */
  private async assertPresignable(): Promise<void> {
    if (this.checkedPresign) return;
    const setting = await this.s3.config.requestChecksumCalculation();
    if (setting !== 'WHEN_REQUIRED') {
      throw new PresignConfigurationError(`S3 client must use requestChecksumCalculation WHEN_REQUIRED for presigning (has ${setting})`);
    }
    this.checkedPresign = true;
  }

  /** Expiry for a URL used after `mibBefore` MiB have been transferred. */
  private expiresIn(mibBefore: number): number {
    const { presignSeconds, minTransferMibPerSecond } = this.options;
    return Math.min(MAX_PRESIGN_SECONDS, presignSeconds + Math.ceil(mibBefore / minTransferMibPerSecond));
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
        Metadata: { 'fleetwave-host': input.hostId, 'fleetwave-backup': input.backupId },
      }),
    );
    if (!created.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    return { backupId: input.backupId, hostId: input.hostId, format, dataKey, configKey, uploadId: created.UploadId, partSizeMb, partCount };
  }

  async presignUpload(upload: Pick<BackupUpload, 'dataKey' | 'configKey' | 'uploadId' | 'partCount' | 'partSizeMb'>): Promise<UploadUrls> {
    await this.assertPresignable();
    checkBackupKeys(upload);
    const { bucket } = this.options;
    const partUrls = await Promise.all(
      Array.from({ length: upload.partCount }, (_, i) =>
        getSignedUrl(this.s3, new UploadPartCommand({ Bucket: bucket, Key: upload.dataKey, UploadId: upload.uploadId, PartNumber: i + 1 }), {
          expiresIn: this.expiresIn(i * upload.partSizeMb),
        }),
      ),
    );
    // The config archive goes up after the data. If-None-Match is signed into the URL: the
    // bucket policy refuses any write under backups/ that could replace an object.
    const configUrl = await getSignedUrl(this.s3, new PutObjectCommand({ Bucket: bucket, Key: upload.configKey, IfNoneMatch: '*' }), {
      expiresIn: this.expiresIn(upload.partCount * upload.partSizeMb),
    });
    return { partUrls, configUrl, expiresAt: this.now() + this.expiresIn(0) * 1000 };
  }

  async prepareBackup(input: PrepareBackupInput): Promise<BackupTarget> {
    await this.assertPresignable(); // before creating anything
    const upload = await this.createUpload(input);
    return { ...upload, ...(await this.presignUpload(upload)) };
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
    outcome.dataVersionId = completion.versionId;

    const data = await this.measure(input.dataKey);
    if (!data) return fail('data-object-missing');
    Object.assign(outcome, { dataBytes: data.bytes, dataSha256: data.sha256, dataVersionId: outcome.dataVersionId ?? data.versionId });
    if (data.bytes !== input.reported.bytes) return fail('data-size-mismatch');
    if (data.sha256 !== input.reported.sha256) return fail('data-sha256-mismatch');

    const config = await this.measure(input.configKey);
    if (!config) return fail('config-object-missing');
    Object.assign(outcome, { configBytes: config.bytes, configSha256: config.sha256, configVersionId: config.versionId });
    if (config.bytes === 0) return fail('empty-config');
    if (config.bytes !== input.config.bytes) return fail('config-size-mismatch');
    if (config.sha256 !== input.config.sha256) return fail('config-sha256-mismatch');

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
    parts: { partNumber: number; etag: string }[],
  ): Promise<{ failed: string | null; versionId: string | null }> {
    if (await this.exists(dataKey)) return { failed: null, versionId: null };
    try {
      const done = await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: dataKey,
          UploadId: uploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${stripQuotes(p.etag)}"` })) },
        }),
      );
      return { failed: null, versionId: done.VersionId ?? null };
    } catch (err) {
      const name = errorName(err);
      // completed concurrently: verification reads what is there
      if (name === 'NoSuchUpload' || name === 'PreconditionFailed' || httpStatus(err) === 412) return { failed: null, versionId: null };
      if (['InvalidPart', 'InvalidPartOrder', 'EntityTooSmall', 'MalformedXML'].includes(name)) {
        return { failed: `complete-failed:${name}`, versionId: null };
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

  /** Size from HeadObject, then sha256 over a streamed GetObject: what S3 holds, not what anyone reported. */
  private async measure(key: string): Promise<{ bytes: number; sha256: string; versionId: string | null } | null> {
    const { bucket } = this.options;
    let head;
    try {
      head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const got = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: head.VersionId }));
    const hash = createHash('sha256');
    let streamed = 0;
    for await (const chunk of got.Body as Readable) {
      hash.update(chunk as Buffer);
      streamed += (chunk as Buffer).length;
    }
    // A short read must not pass as a smaller object.
    const bytes = head.ContentLength ?? -1;
    return { bytes: streamed === bytes ? bytes : -1, sha256: hash.digest('hex'), versionId: head.VersionId ?? null };
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

  async presignRestore(input: RestoreObjects): Promise<RestoreUrls> {
    checkBackupKeys(input);
    await this.assertPresignable();
    const { bucket } = this.options;
    let size: number;
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: input.dataKey, VersionId: input.dataVersionId ?? undefined }));
      size = head.ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) throw new BackupObjectMissingError(`backup object ${input.dataKey} does not exist`);
      throw err;
    }
    // The host downloads the data once to verify it, then again to restore it.
    const expiresIn = this.expiresIn(Math.ceil((2 * size) / (1024 * 1024)));
    const objects: [string, string | null | undefined][] = [
      [input.dataKey, input.dataVersionId],
      [input.configKey, input.configVersionId],
    ];
    const [dataUrl, configUrl] = await Promise.all(
      objects.map(([Key, VersionId]) =>
        getSignedUrl(this.s3, new GetObjectCommand({ Bucket: bucket, Key, VersionId: VersionId ?? undefined }), { expiresIn }),
      ),
    );
    return { dataUrl: dataUrl!, configUrl: configUrl!, expiresAt: this.now() + expiresIn * 1000 };
  }
}
