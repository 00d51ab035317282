/**
 * complete-backup task.
 * - `{run, target, backupResult}` → BackupVerification (+ backupId, format):
 *   completes the multipart upload with the host's ETags and part checksums,
 *   and compares S3's composite checksum and sizes (HeadObject) with what the
 *   host computed; nothing is read back, whatever the size. `verified:false` with a `reason` is an
 *   expected outcome for the Choice state, not an error. `backupResult` is
 *   the backup step's result line (StepOutcome.result) or the whole outcome.
 * - `{run, target, abort: true}` → AbortResult: the backup step failed, so
 *   the upload is aborted and no data object may exist afterwards.
 * - `{run, target, markUnverified: true}` → {tagged}: verification failed after
 *   the upload was completed, so both objects are tagged unverified in S3
 *   (core/backup-storage/mark-unverified.ts; FinishBackupUnverified's path).
 */
import { z } from 'zod';
import { checkBackupKeys, S3BackupStorage, type AbortResult, type BackupStorage, type BackupVerification } from '../../core/backup-storage';
import { markBackupUnverified, type UnverifiedObjects } from '../../core/backup-storage/mark-unverified';
import { parseInput } from '../../core/errors';
import { BackupResult } from '../../core/host-steps/results';
import { DataFormat, HostRunContext } from '../../core/models';
import { BACKUP_VERIFIED_LOG } from '../../core/backup-storage/metrics';
import { s3Client } from '../shared/clients';
import { CompleteBackupEnv } from '../shared/env';
import { defineTask } from '../shared/task';

const Target = z.looseObject({
  dataKey: z.string().min(1),
  configKey: z.string().min(1),
  uploadId: z.string().min(1),
  backupId: z.string().optional(),
  format: DataFormat.optional(),
});

const CompleteEvent = z.object({ run: HostRunContext, target: Target, backupResult: z.unknown() });
const AbortEvent = z.object({ run: HostRunContext, target: Target, abort: z.literal(true) });
const Verification = z.looseObject({ reason: z.string().nullable(), dataVersionId: z.string().nullable().optional(), configVersionId: z.string().nullable().optional() });
const MarkUnverifiedEvent = z.object({ run: HostRunContext, target: Target.extend({ verification: Verification }), markUnverified: z.literal(true) });
export const CompleteBackupEvent = z.union([MarkUnverifiedEvent, AbortEvent, CompleteEvent]);
export type CompleteBackupEvent = z.input<typeof CompleteBackupEvent>;

/** The result line itself, or a StepOutcome (`{status, result}`) wrapping it. */
const BackupResultIn = z.preprocess(
  (v) => (v && typeof v === 'object' && 'result' in v && 'status' in v ? (v as { result: unknown }).result : v),
  BackupResult,
);

export type CompleteBackupOutput = BackupVerification & { backupId: string | null; format: string | null };

export interface CompleteBackupDeps {
  storage: BackupStorage;
  markUnverified?: (objects: UnverifiedObjects) => Promise<{ tagged: string[] }>;
}

export const { handler, createHandler } = defineTask({
  name: 'complete-backup',
  event: CompleteBackupEvent,
  env: CompleteBackupEnv,
  deps: (env): CompleteBackupDeps => {
    const s3 = s3Client();
    return { storage: new S3BackupStorage(s3, { bucket: env.BACKUP_BUCKET }), markUnverified: (o) => markBackupUnverified(s3, env.BACKUP_BUCKET, o) };
  },
  run: async (input, deps, log): Promise<CompleteBackupOutput | AbortResult | { tagged: string[] }> => {
    const { run, target } = input;
    checkBackupKeys({ dataKey: target.dataKey, configKey: target.configKey }, run.hostId);
    const ids = { runId: run.runId, hostId: run.hostId, dataKey: target.dataKey };

    if ('markUnverified' in input) {
      if (!deps.markUnverified) throw new Error('complete-backup: no S3 client to mark an unverified backup with');
      const v = input.target.verification;
      const result = await deps.markUnverified({ dataKey: target.dataKey, configKey: target.configKey, dataVersionId: v.dataVersionId, configVersionId: v.configVersionId, reason: v.reason });
      log.info('unverified backup tagged', { ...ids, ...result, reason: v.reason });
      return result;
    }

    if ('abort' in input) {
      const result = await deps.storage.abortBackup({ dataKey: target.dataKey, uploadId: target.uploadId });
      log.info('backup aborted', { ...ids, ...result });
      return result;
    }

    const { backupResult: line } = parseInput(
      z.object({ backupResult: BackupResultIn }),
      { backupResult: input.backupResult },
      'complete-backup event (backupResult is not a successful backup result line)',
    );
    const verification = await deps.storage.completeBackup({
      dataKey: target.dataKey,
      configKey: target.configKey,
      uploadId: target.uploadId,
      parts: line.data.parts,
      reported: { bytes: line.data.bytes, sha256: line.data.sha256, checksumSha256: line.data.checksumSha256 },
      config: { bytes: line.config.bytes, sha256: line.config.sha256, checksumSha256: line.config.checksumSha256 },
    });
    log.info('backup verification', { ...ids, verified: verification.verified, reason: verification.reason });
    if (verification.verified) {
      // what the dashboard's per-host backup table and the BackupBytes / BackupSeconds metric filters read (lib/monitoring.ts)
      const seconds = line.snapshotAt !== undefined && line.finishedAt !== undefined && line.finishedAt >= line.snapshotAt ? (line.finishedAt - line.snapshotAt) / 1000 : null;
      log.info(BACKUP_VERIFIED_LOG, { ...ids, bytes: line.data.bytes, parts: line.data.parts.length, durationSeconds: seconds });
    }
    return { ...verification, backupId: target.backupId ?? null, format: target.format ?? null };
  },
});
