/**
 * send-step task. Event `{run, step, extra?, attempt?}` → SentCommand.
 * `extra` per step: preflight `{targetVersion?, minFreeMb?}`; pull-images /
 * pin-tags `{version?}`; health-check `{version?, passes?, intervalSeconds?,
 * timeoutSeconds?}`; watch-schema `{timeoutSeconds?, pollSeconds?}`; backup
 * `{target}` (prepare-backup's output: URLs are presigned here); restore
 * `{backup}` (begin-run's restore source: GETs are presigned here).
 * Errors by name: InvalidTaskInputError / InvalidStepInputError (refused,
 * nothing sent), HostUnreachableError (→ `unreachable`), ThrottlingException
 * (retried by the state machine; the retry finds the earlier command).
 */
import { z } from 'zod';
import { HostRunContext, HostStep, type SentCommand } from '../../core/models';
import { asTransient, Attempt, sendStep, SsmCommandRunner, type SendStepDeps } from '../../core/host-steps';
import { S3BackupStorage } from '../../core/backup-storage';
import { s3Client, ssmClient, ssmSendClient } from '../shared/clients';
import { parseEnv, SendStepEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { parseTaskInput } from '../shared/task-input';

export const SendStepEvent = z.object({
  run: HostRunContext,
  step: HostStep,
  /** Checked field by field in the core (StepExtra) so errors name the field. */
  extra: z.unknown().optional(),
  attempt: Attempt.optional(),
});
export type SendStepEvent = z.input<typeof SendStepEvent>;

const logger = createLogger('send-step');

function defaultDeps(): SendStepDeps {
  const env = parseEnv(SendStepEnv);
  if (env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel(env.POWERTOOLS_LOG_LEVEL);
  return {
    runner: new SsmCommandRunner(ssmClient(), ssmSendClient()),
    presigner: new S3BackupStorage(s3Client(), { bucket: env.BACKUP_BUCKET, presignSeconds: env.PRESIGN_SECONDS }),
    documentPrefix: env.DOCUMENT_PREFIX,
    outputBucket: env.OUTPUT_BUCKET,
    deliveryTimeoutSeconds: env.DELIVERY_TIMEOUT_SECONDS,
    graceSeconds: env.DEADLINE_GRACE_SECONDS,
  };
}

export function createHandler(makeDeps: () => SendStepDeps = defaultDeps) {
  let deps: SendStepDeps | undefined;
  return async (event: unknown): Promise<SentCommand> => {
    const input = parseTaskInput(SendStepEvent, event);
    deps ??= makeDeps();
    const ids = { runId: input.run.runId, hostId: input.run.hostId, step: input.step };
    try {
      const sent = await sendStep(input, deps);
      logger.info('step command', { ...ids, commandId: sent.commandId, documentName: sent.documentName, deadline: sent.deadline });
      return sent;
    } catch (err) {
      logger.warn('send-step failed', { ...ids, errorName: (err as Error).name });
      // retried by the state machine; the retry finds an already sent command by its comment
      throw asTransient(err);
    }
  };
}

export const handler = createHandler();
