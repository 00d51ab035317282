/**
 * compliance-plan: {request: {} | {fleetId}, executionArn} →
 * {checkId, hostCount, batchCount, batches: [{checkId, index}]}.
 * Writes the plan (host batches) to S3 and opens the check in the registry.
 */
import { PlanInput, planCheck, type PlanOutput } from '../../core/compliance';
import { CompliancePlanEnv } from '../compliance-shared/env';
import { reportObjects } from '../compliance-shared/clients';
import { parseTaskInput } from '../shared/task-input';
import { logger, parseEnv, registryStore, rethrowScrubbed } from '../shared/registry-task';

export async function handler(event: unknown): Promise<PlanOutput> {
  try {
    const env = parseEnv(CompliancePlanEnv);
    const out = await planCheck(parseTaskInput(PlanInput, event), { store: await registryStore(), objects: reportObjects(env.REPORT_BUCKET) });
    logger.info('compliance check planned', { checkId: out.checkId, hosts: out.hostCount, batches: out.batchCount });
    return out;
  } catch (err) {
    rethrowScrubbed(err);
  }
}
