/**
 * compliance-plan: {request: {} | {fleetId}, executionArn} →
 * {checkId, hostCount, batchCount, batches: [{checkId, index}]}.
 * Writes the plan (host batches) to S3 and opens the check in the registry.
 */
import { PlanInput, planCheck, S3JsonObjects } from '../../core/compliance';
import { s3Client } from '../shared/clients';
import { CompliancePlanEnv } from '../shared/env';
import { openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

export const { handler, createHandler } = defineTask({
  name: 'compliance-plan',
  event: PlanInput,
  env: CompliancePlanEnv,
  deps: async (env, log) => ({ store: (await openRegistry(env, log)).store, objects: new S3JsonObjects(s3Client(), env.REPORT_BUCKET) }),
  run: async (input, deps, log) => {
    const out = await planCheck(input, deps);
    log.info('compliance check planned', { checkId: out.checkId, hosts: out.hostCount, batches: out.batchCount });
    return out;
  },
});
