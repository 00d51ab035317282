/**
 * compliance-send: {checkId, index} → {checkId, index, commandId, sent, unreachable}.
 * One Fleetwave-Inventory SendCommand for the batch's online instances, never twice.
 */
import { sendBatch, SsmInventoryCommands, type SendBatchDeps, type SendBatchOutput } from '../../core/compliance';
import { s3Client, ssmClient, ssmSendClient } from '../shared/clients';
import { parseEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { parseTaskInput } from '../shared/task-input';
import { BatchRef } from '../../core/compliance';
import { ComplianceSendEnv } from '../compliance-shared/env';
import { reportObjects } from '../compliance-shared/clients';

const logger = createLogger('compliance-send');

function defaultDeps(): SendBatchDeps {
  const env = parseEnv(ComplianceSendEnv);
  if (env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel(env.POWERTOOLS_LOG_LEVEL);
  return {
    objects: reportObjects(env.REPORT_BUCKET),
    commands: new SsmInventoryCommands(ssmClient(), ssmSendClient(), s3Client(), env.OUTPUT_BUCKET),
    documentName: env.INVENTORY_DOCUMENT,
    outputBucket: env.OUTPUT_BUCKET,
    deliveryTimeoutSeconds: env.DELIVERY_TIMEOUT_SECONDS,
    maxConcurrency: env.SSM_MAX_CONCURRENCY,
    maxErrors: env.SSM_MAX_ERRORS,
  };
}

export function createHandler(makeDeps: () => SendBatchDeps = defaultDeps) {
  let deps: SendBatchDeps | undefined;
  return async (event: unknown): Promise<SendBatchOutput> => {
    const input = parseTaskInput(BatchRef, event);
    deps ??= makeDeps();
    const out = await sendBatch(input, deps);
    logger.info('inventory sent', { ...out });
    return out;
  };
}

export const handler = createHandler();
