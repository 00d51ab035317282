/**
 * The result lines host scripts print (docs/contracts.md, "Step results"),
 * as the orchestrator reads them. One schema per step that the tasks read
 * fields from; each script prints more, so the objects are loose.
 */
import { z } from 'zod';
import { ChecksumSha256, CompositeSha256, UploadedPart } from '../backup-storage/ports';
import { DatabaseMode, DataFormat, Sha256 } from '../models';

export const PreflightResult = z.object({
  currentVersion: z.string().nullable().optional(),
  mixedVersions: z.boolean().optional(),
  dataBytesEstimate: z.number().nonnegative().optional(),
  mode: DatabaseMode.optional(),
});
export type PreflightResult = z.infer<typeof PreflightResult>;

/** The backup script's successful result line: what it streamed, how it checked it, what the config pins. */
export const BackupResult = z.looseObject({
  step: z.literal('backup'),
  ok: z.literal(true),
  /** The version the backed-up config pins: the version a restore of this backup brings back. */
  version: z.string().nullable().optional(),
  data: z.looseObject({
    bytes: z.number().int().min(0),
    sha256: Sha256,
    parts: z.array(UploadedPart).min(1),
    /** Composite of the parts' SHA-256 checksums, as S3 computes it at completion. */
    checksumSha256: CompositeSha256,
    format: DataFormat.optional(),
    /** Entries the archive listed (`tar -tz` / `pg_restore -l`) on the same stream. */
    entries: z.number().int().min(0).optional(),
  }),
  config: z.looseObject({ bytes: z.number().int().min(0), sha256: Sha256, checksumSha256: ChecksumSha256, entries: z.number().int().min(0).optional() }),
  /** The host's clock (epoch ms) at the data's snapshot and when the backup was uploaded and checked. */
  snapshotAt: z.number().int().min(0).optional(),
  finishedAt: z.number().int().min(0).optional(),
});
export type BackupResult = z.infer<typeof BackupResult>;
