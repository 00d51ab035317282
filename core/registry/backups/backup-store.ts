/**
 * The backups port: each backup a run takes, its S3 objects, and whether it
 * was verified (downloaded, checksummed and listed) before the host changed.
 */
import { z } from 'zod';
import { DatabaseMode, DataFormat, HostId, Sha256, Version, type BackupStatus } from '../../models';
import { ObjectKey } from '../fields';

const S3VersionId = z.string().min(1).max(1024);

export const CreateBackupInput = z.object({
  id: z.string().uuid(),
  hostId: HostId,
  runId: z.string().uuid().nullable().default(null),
  /** The version the backed-up data belongs to (what a restore pins back). */
  version: Version,
  mode: DatabaseMode,
  dataKey: ObjectKey,
  dataFormat: DataFormat,
  configKey: ObjectKey,
});
export type CreateBackupInput = z.input<typeof CreateBackupInput>;

export const BackupVerification = z.object({
  dataBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  dataSha256: Sha256,
  /** Entries the archive listing showed (tar -t / pg_restore -l); 0 means empty, never verified. */
  dataEntries: z.number().int().positive(),
  configBytes: z.number().int().positive(),
  configSha256: Sha256,
  /** The S3 versions verification read; null where storage keeps no versions. */
  dataVersionId: S3VersionId.nullish(),
  configVersionId: S3VersionId.nullish(),
});
export type BackupVerification = z.input<typeof BackupVerification>;

export interface Backup {
  id: string;
  hostId: string;
  runId: string | null;
  version: string;
  mode: DatabaseMode;
  dataKey: string;
  dataFormat: DataFormat;
  dataBytes: number | null;
  dataSha256: string | null;
  dataEntries: number | null;
  configKey: string;
  configBytes: number | null;
  configSha256: string | null;
  /** What a restore reads (null: the current object). */
  dataVersionId: string | null;
  configVersionId: string | null;
  status: BackupStatus;
  failure: string | null;
  createdAt: number;
  verifiedAt: number | null;
}

export interface LatestVerifiedBackupFilter {
  /** Only backups of data belonging to this version. */
  version?: string;
  /** Only backups created strictly before this time (epoch ms). */
  before?: number;
}

export interface BackupStore {
  /** Idempotent on id. */
  createBackup(input: CreateBackupInput): Promise<Backup>;
  /** Fenced by the backup's host lease; idempotent for identical details. @throws BackupStateError */
  markBackupVerified(backupId: string, leaseToken: number, details: BackupVerification): Promise<Backup>;
  /** A verified backup cannot be failed afterwards. @throws BackupStateError */
  markBackupFailed(backupId: string, reason: string): Promise<Backup>;
  /** @throws BackupNotFoundError */
  getBackup(backupId: string): Promise<Backup>;
  /** Newest first. */
  listBackups(hostId: string): Promise<Backup[]>;
  latestVerifiedBackup(hostId: string, filter?: LatestVerifiedBackupFilter): Promise<Backup | null>;
}
