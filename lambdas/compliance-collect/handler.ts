/**
 * compliance-collect: {checkId, index} → {checkId, index, status: Pending|Done, reached, unknown}.
 * The state machine waits and calls again while Pending (capped by the batch's deadline).
 */
import { BatchRef, collectBatch, S3JsonObjects, SsmInventoryCommands, type CollectBatchDeps } from '../../core/compliance';
import { s3Client, ssmClient } from '../shared/clients';
import { ComplianceCollectEnv } from '../shared/env';
import { defineTask } from '../shared/task';

export const { handler, createHandler } = defineTask({
  name: 'compliance-collect',
  event: BatchRef,
  env: ComplianceCollectEnv,
  deps: (env): CollectBatchDeps => ({
    objects: new S3JsonObjects(s3Client(), env.REPORT_BUCKET),
    commands: new SsmInventoryCommands(ssmClient(), ssmClient(), s3Client(), env.OUTPUT_BUCKET),
  }),
  run: async (input, deps, log) => {
    const out = await collectBatch(input, deps);
    if (out.status === 'Done') log.info('inventory collected', { ...out });
    return out;
  },
});
