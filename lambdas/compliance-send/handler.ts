/**
 * compliance-send: {checkId, index} → {checkId, index, commandId, sent, unreachable}.
 * One Fleetwave-Inventory SendCommand for the batch's online instances, never twice.
 */
import { BatchRef, S3JsonObjects, sendBatch, SsmInventoryCommands, type SendBatchDeps } from '../../core/compliance';
import { s3Client, ssmClient, ssmSendClient } from '../shared/clients';
import { ComplianceSendEnv } from '../shared/env';
import { defineTask } from '../shared/task';

export const { handler, createHandler } = defineTask({
  name: 'compliance-send',
  event: BatchRef,
  env: ComplianceSendEnv,
  deps: (env): SendBatchDeps => ({
    objects: new S3JsonObjects(s3Client(), env.REPORT_BUCKET),
    commands: new SsmInventoryCommands(ssmClient(), ssmSendClient(), s3Client(), env.OUTPUT_BUCKET, env.DOCUMENT_VERSIONS),
    documentName: env.INVENTORY_DOCUMENT,
    outputBucket: env.OUTPUT_BUCKET,
    deliveryTimeoutSeconds: env.DELIVERY_TIMEOUT_SECONDS,
    maxConcurrency: env.SSM_MAX_CONCURRENCY,
    maxErrors: env.SSM_MAX_ERRORS,
  }),
  run: async (input, deps, log) => {
    const out = await sendBatch(input, deps);
    log.info('inventory sent', { ...out });
    return out;
  },
});
