/**
 * compliance-collect: {checkId, index} → {checkId, index, status: Pending|Done, reached, unknown}.
 * The state machine waits and calls again while Pending (capped by the batch's deadline).
 */
import { BatchRef, collectBatch, SsmInventoryCommands, type CollectBatchDeps, type CollectBatchOutput } from '../../core/compliance';
import { s3Client, ssmClient } from '../shared/clients';
import { parseEnv } from '../shared/env';
import { createLogger } from '../shared/logger';
import { parseTaskInput } from '../shared/task-input';
import { ComplianceCollectEnv } from '../compliance-shared/env';
import { reportObjects } from '../compliance-shared/clients';

const logger = createLogger('compliance-collect');

function defaultDeps(): CollectBatchDeps {
  const env = parseEnv(ComplianceCollectEnv);
  if (env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel(env.POWERTOOLS_LOG_LEVEL);
  return {
    objects: reportObjects(env.REPORT_BUCKET),
    commands: new SsmInventoryCommands(ssmClient(), ssmClient(), s3Client(), env.OUTPUT_BUCKET),
  };
}

export function createHandler(makeDeps: () => CollectBatchDeps = defaultDeps) {
  let deps: CollectBatchDeps | undefined;
  return async (event: unknown): Promise<CollectBatchOutput> => {
    const input = parseTaskInput(BatchRef, event);
    deps ??= makeDeps();
    const out = await collectBatch(input, deps);
    if (out.status === 'Done') logger.info('inventory collected', { ...out });
    return out;
  };
}

export const handler = createHandler();
