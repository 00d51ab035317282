/**
 * prepare-backup task. `{run, estimatedBytes, backupId?}` → BackupUpload:
 * the multipart upload is created and sized, with no URLs (send-step
 * presigns them right before sending, so they never enter execution
 * history). backupId defaults to the run id: one run, one backup key.
 * BackupTooLargeError (nothing created) when 5 GiB × MAX_PARTS cannot hold it.
 */
import { z } from 'zod';
import { HostRunContext } from '../../core/models';
import { BackupId, S3BackupStorage, type BackupStorage, type BackupUpload } from '../../core/backup-storage';
import { s3Client } from '../shared/clients';
import { parseEnv, PrepareBackupEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { parseTaskInput } from '../shared/task-input';

export const PrepareBackupEvent = z.object({
  run: HostRunContext,
  /** Preflight's data size estimate (record-step's verdict.estimatedBytes). */
  estimatedBytes: z.number().int().min(0),
  backupId: BackupId.optional(),
});
export type PrepareBackupEvent = z.input<typeof PrepareBackupEvent>;

const logger = createLogger('prepare-backup');

export interface PrepareBackupDeps {
  storage: Pick<BackupStorage, 'createUpload'>;
}

function defaultDeps(): PrepareBackupDeps {
  const env = parseEnv(PrepareBackupEnv);
  if (env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel(env.POWERTOOLS_LOG_LEVEL);
  return { storage: new S3BackupStorage(s3Client(), { bucket: env.BACKUP_BUCKET, maxParts: env.MAX_PARTS }) };
}

export function createHandler(makeDeps: () => PrepareBackupDeps = defaultDeps) {
  let deps: PrepareBackupDeps | undefined;
  return async (event: unknown): Promise<BackupUpload> => {
    const input = parseTaskInput(PrepareBackupEvent, event);
    deps ??= makeDeps();
    const { run } = input;
    const upload = await deps.storage.createUpload({
      hostId: run.hostId,
      backupId: input.backupId ?? run.runId,
      mode: run.mode,
      estimatedBytes: input.estimatedBytes,
    });
    logger.info('backup upload created', {
      runId: run.runId,
      hostId: run.hostId,
      dataKey: upload.dataKey,
      partCount: upload.partCount,
      partSizeMb: upload.partSizeMb,
    });
    return upload;
  };
}

export const handler = createHandler();
