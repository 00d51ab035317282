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

/** A started multipart upload: what the state machine carries (no URLs, so none enter execution history). */
export interface BackupUpload {
  backupId: string;
  hostId: string;
  format: DataFormat;
  dataKey: string;
  configKey: string;
  uploadId: string;
  partSizeMb: number;
  /** How many part URLs the host gets; more data than they hold fails the backup (`backup-too-large`). */
  partCount: number;
}

export interface UploadUrls {
  /** Raw presigned UploadPart URLs, part 1..N; send-step base64url-encodes them. */
  partUrls: string[];
  /** Raw presigned PUT of the config archive. */
  configUrl: string;
  /** Epoch ms after which the first URL no longer works (later parts live longer). */
  expiresAt: number;
}

/** What the backup step needs plus the keys to complete it. */
export type BackupTarget = BackupUpload & UploadUrls;

export const UploadedPart = z.object({
  partNumber: z.number().int().min(1).max(10_000),
  etag: z.string().min(1).max(200),
  bytes: z.number().int().min(0).optional(),
});

export const ReportedObject = z.object({ bytes: z.number().int().min(0), sha256: Sha256 });

export const CompleteBackupInput = z.object({
  dataKey: z.string().min(1),
  configKey: z.string().min(1),
  uploadId: z.string().min(1),
  parts: z.array(UploadedPart).min(1).max(10_000),
  /** What the host measured while streaming (backup result `data`). */
  reported: ReportedObject,
  config: ReportedObject,
});
export type CompleteBackupInput = z.infer<typeof CompleteBackupInput>;

/** End-to-end verification. A mismatch is an expected outcome: `verified:false` with a reason, never a throw. */
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
});
export type BackupVerification = z.infer<typeof BackupVerification>;

export interface AbortResult {
  /** False when the store had no such upload (already aborted or completed) or cannot abort. */
  aborted: boolean;
  /** Whether an object exists at the data key afterwards (it must not, for a failed backup). */
  objectExists: boolean;
  reason: string | null;
}

export interface RestoreUrls {
  dataUrl: string;
  configUrl: string;
  expiresAt: number;
}

export interface BackupStorage {
  /** CreateMultipartUpload for the data key; sizing first, so a too-large backup creates nothing. */
  createUpload(input: PrepareBackupInput): Promise<BackupUpload>;
  presignUpload(upload: Pick<BackupUpload, 'dataKey' | 'configKey' | 'uploadId' | 'partCount' | 'partSizeMb'>): Promise<UploadUrls>;
  /** createUpload + presignUpload. */
  prepareBackup(input: PrepareBackupInput): Promise<BackupTarget>;
  completeBackup(input: CompleteBackupInput): Promise<BackupVerification>;
  abortBackup(input: { dataKey: string; uploadId: string }): Promise<AbortResult>;
  presignRestore(input: RestoreObjects): Promise<RestoreUrls>;
}

/**
 * What a restore reads: the keys, and the S3 versions verification read when
 * the backup was taken. With a version id the URL fetches exactly those
 * bytes, whatever became current since; null (a backup recorded before ids
 * were kept, or storage without versioning) reads the current object.
 */
export interface RestoreObjects {
  dataKey: string;
  configKey: string;
  dataVersionId?: string | null;
  configVersionId?: string | null;
}
