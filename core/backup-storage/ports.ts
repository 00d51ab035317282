/**
 * The `BackupStorage` port: where a host's backup goes and how the
 * orchestrator verifies it end to end. `S3BackupStorage` is the adapter.
 */
import { z } from 'zod';
import { DatabaseMode, HostId, ID_PATTERN, Sha256, type DataFormat } from '../models';

export const BackupId = z.string().regex(ID_PATTERN, { message: `backup id must match ${ID_PATTERN.source}` });

export const PrepareBackupInput = z.object({
  hostId: HostId,
  backupId: BackupId,
  mode: DatabaseMode,
  /** Preflight's `dataBytesEstimate`. */
  estimatedBytes: z.number().int().min(0),
});
export type PrepareBackupInput = z.infer<typeof PrepareBackupInput>;

/** A started multipart upload (ChecksumAlgorithm SHA256, type COMPOSITE): what the state machine carries; it grants nothing. */
export interface BackupUpload {
  backupId: string;
  hostId: string;
  format: DataFormat;
  dataKey: string;
  configKey: string;
  uploadId: string;
  partSizeMb: number;
  /** How many parts the host may upload; more data than they hold fails the backup (`backup-too-large`). */
  partCount: number;
}

/** base64 of a SHA-256 digest, as S3's x-amz-checksum-sha256 carries it. */
export const ChecksumSha256 = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, { message: 'must be the base64 of a SHA-256 digest' });
/** A multipart object's composite checksum: base64(SHA-256 of the parts' digests) `-<parts>`. */
export const CompositeSha256 = z.string().regex(/^[A-Za-z0-9+/]{43}=-[0-9]{1,5}$/, { message: 'must be a composite SHA-256 checksum (<base64>-<parts>)' });

export const UploadedPart = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  etag: z.string().min(1).max(200),
  bytes: z.number().int().min(0).optional(),
  /** What the host computed and sent as x-amz-checksum-sha256 (S3 refused the part had it not matched). */
  checksumSha256: ChecksumSha256,
});

export const ReportedObject = z.object({ bytes: z.number().int().min(0), sha256: Sha256 });

export const CompleteBackupInput = z.object({
  dataKey: z.string().min(1),
  configKey: z.string().min(1),
  uploadId: z.string().min(1),
  parts: z.array(UploadedPart).min(1).max(10_000),
  /** What the host measured while streaming (backup result `data`), with the composite checksum of its parts. */
  reported: ReportedObject.extend({ checksumSha256: CompositeSha256 }),
  /** The config archive, PUT with x-amz-checksum-sha256. */
  config: ReportedObject.extend({ checksumSha256: ChecksumSha256 }),
});
export type CompleteBackupInput = z.infer<typeof CompleteBackupInput>;

/**
 * End-to-end verification without reading the object: S3 checked every part's
 * SHA-256 on arrival and computes the composite at completion; it must equal
 * the composite of what the host hashed, and the size what the host counted.
 * `dataSha256`/`configSha256` are the host's whole-stream digests, which a
 * restore checks again on download. A mismatch is an expected outcome:
 * `verified:false` with a reason, never a throw.
 */
export const BackupVerification = z.object({
  verified: z.boolean(),
  reason: z.string().nullable(),
  dataKey: z.string(),
  configKey: z.string(),
  dataBytes: z.number().int().min(0).nullable(),
  dataSha256: Sha256.nullable(),
  configBytes: z.number().int().min(0).nullable(),
  configSha256: Sha256.nullable(),
  dataVersionId: z.string().nullable(),
  configVersionId: z.string().nullable(),
  /** The composite checksum S3 reports for the data object. */
  dataChecksum: z.string().nullable().optional(),
});
export type BackupVerification = z.infer<typeof BackupVerification>;

export interface AbortResult {
  /** False when the store had no such upload (already aborted or completed) or cannot abort. */
  aborted: boolean;
  /** Whether an object exists at the data key afterwards (it must not, for a failed backup). */
  objectExists: boolean;
  reason: string | null;
}

export interface BackupStorage {
  /** CreateMultipartUpload for the data key; sizing first, so a too-large backup creates nothing. */
  createUpload(input: PrepareBackupInput): Promise<BackupUpload>;
  completeBackup(input: CompleteBackupInput): Promise<BackupVerification>;
  abortBackup(input: { dataKey: string; uploadId: string }): Promise<AbortResult>;
}

/**
 * What a restore reads: the keys, and the S3 versions verification read when
 * the backup was taken. With a version id the host fetches exactly those
 * bytes, whatever became current since; null (a backup recorded before ids
 * were kept, or storage without versioning) reads the current object.
 */
export interface RestoreObjects {
  dataKey: string;
  configKey: string;
  dataVersionId?: string | null;
  configVersionId?: string | null;
}
