/**
 * complete-backup task.
 * - `{run, target, backupResult}` → BackupVerification (+ backupId, format):
 *   completes the multipart upload with the host's ETags and re-reads both
 *   objects to check size and sha256. `verified:false` with a `reason` is an
 *   expected outcome for the Choice state, not an error. `backupResult` is
 *   the backup step's result line (StepOutcome.result) or the whole outcome.
 * - `{run, target, abort: true}` → AbortResult: the backup step failed, so
 *   the upload is aborted and no data object may exist afterwards.
 */
import { z } from 'zod';
import { DataFormat, HostRunContext, Sha256 } from '../../core/models';
import {
  checkBackupKeys,
  S3BackupStorage,
  UploadedPart,
  type AbortResult,
  type BackupStorage,
  type BackupVerification,
} from '../../core/backup-storage';
import { s3Client } from '../shared/clients';
import { CompleteBackupEnv, parseEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { InvalidTaskInputError, parseTaskInput } from '../shared/task-input';

const Target = z.looseObject({
  dataKey: z.string().min(1),
  configKey: z.string().min(1),
  uploadId: z.string().min(1),
  backupId: z.string().optional(),
  format: DataFormat.optional(),
});

/** The backup script's result line (docs/contracts.md, "Step results"). */
const BackupResultLine = z.looseObject({
  step: z.literal('backup'),
  ok: z.literal(true),
  data: z.looseObject({
    bytes: z.number().int().min(0),
    sha256: Sha256,
    parts: z.array(UploadedPart).min(1),
  }),
  config: z.looseObject({ bytes: z.number().int().min(0), sha256: Sha256 }),
});

const CompleteEvent = z.object({ run: HostRunContext, target: Target, backupResult: z.unknown() });
const AbortEvent = z.object({ run: HostRunContext, target: Target, abort: z.literal(true) });
export const CompleteBackupEvent = z.union([AbortEvent, CompleteEvent]);
export type CompleteBackupEvent = z.input<typeof CompleteBackupEvent>;

export type CompleteBackupOutput = BackupVerification & { backupId: string | null; format: string | null };

const logger = createLogger('complete-backup');

export interface CompleteBackupDeps {
  storage: BackupStorage;
}

function defaultDeps(): CompleteBackupDeps {
  const env = parseEnv(CompleteBackupEnv);
  if (env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel(env.POWERTOOLS_LOG_LEVEL);
  return { storage: new S3BackupStorage(s3Client(), { bucket: env.BACKUP_BUCKET }) };
}

/** Accepts the result line itself or a StepOutcome wrapping it. */
function backupResultLine(value: unknown) {
  const candidate =
    value && typeof value === 'object' && 'result' in value && 'status' in value ? (value as { result: unknown }).result : value;
  return parseTaskInput(BackupResultLine, candidate);
}

export function createHandler(makeDeps: () => CompleteBackupDeps = defaultDeps) {
  let deps: CompleteBackupDeps | undefined;
  return async (event: unknown): Promise<CompleteBackupOutput | AbortResult> => {
    const input = parseTaskInput(CompleteBackupEvent, event);
    deps ??= makeDeps();
    const { run, target } = input;
    checkBackupKeys({ dataKey: target.dataKey, configKey: target.configKey }, run.hostId);
    const ids = { runId: run.runId, hostId: run.hostId, dataKey: target.dataKey };

    if ('abort' in input) {
      const result = await deps.storage.abortBackup({ dataKey: target.dataKey, uploadId: target.uploadId });
      logger.info('backup aborted', { ...ids, ...result });
      return result;
    }

    let line;
    try {
      line = backupResultLine(input.backupResult);
    } catch (err) {
      if (err instanceof InvalidTaskInputError) {
        throw new InvalidTaskInputError(
          err.fields.map((f) => `backupResult.${f}`),
          `backupResult is not a successful backup result line (${err.message})`,
        );
      }
      throw err;
    }
    const verification = await deps.storage.completeBackup({
      dataKey: target.dataKey,
      configKey: target.configKey,
      uploadId: target.uploadId,
      parts: line.data.parts,
      reported: { bytes: line.data.bytes, sha256: line.data.sha256 },
      config: { bytes: line.config.bytes, sha256: line.config.sha256 },
    });
    logger.info('backup verification', { ...ids, verified: verification.verified, reason: verification.reason });
    return { ...verification, backupId: target.backupId ?? null, format: target.format ?? null };
  };
}

export const handler = createHandler();
