/**
 * prepare-backup task. `{run, estimatedBytes, backupId?}` → BackupUpload:
 * the multipart upload is created (ChecksumAlgorithm SHA256, COMPOSITE) and
 * sized. It grants nothing: the host uploads with its own role. backupId defaults to the run id: one run, one backup key.
 * BackupTooLargeError (nothing created) when 5 GiB × MAX_PARTS cannot hold it.
 */
import { z } from 'zod';
import { BackupId, S3BackupStorage, type BackupStorage } from '../../core/backup-storage';
import { HostRunContext } from '../../core/models';
import { s3Client } from '../shared/clients';
import { PrepareBackupEnv } from '../shared/env';
import { defineTask } from '../shared/task';

export const PrepareBackupEvent = z.object({
  run: HostRunContext,
  /** Preflight's data size estimate (record-step's verdict.estimatedBytes). */
  estimatedBytes: z.number().int().min(0),
  backupId: BackupId.optional(),
});
export type PrepareBackupEvent = z.input<typeof PrepareBackupEvent>;

export interface PrepareBackupDeps {
  storage: Pick<BackupStorage, 'createUpload'>;
}

export const { handler, createHandler } = defineTask({
  name: 'prepare-backup',
  event: PrepareBackupEvent,
  env: PrepareBackupEnv,
  deps: (env): PrepareBackupDeps => ({ storage: new S3BackupStorage(s3Client(), { bucket: env.BACKUP_BUCKET, maxParts: env.MAX_PARTS }) }),
  run: async (input, deps, log) => {
    const { run } = input;
    const upload = await deps.storage.createUpload({
      hostId: run.hostId,
      backupId: input.backupId ?? run.runId,
      mode: run.mode,
      estimatedBytes: input.estimatedBytes,
    });
    log.info('backup upload created', {
      runId: run.runId,
      hostId: run.hostId,
      dataKey: upload.dataKey,
      partCount: upload.partCount,
      partSizeMb: upload.partSizeMb,
    });
    return upload;
  },
});
