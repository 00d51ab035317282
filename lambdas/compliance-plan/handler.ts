/**
 * compliance-plan: {request: {} | {fleetId}, executionArn} →
 * {checkId, hostCount, batchCount, batches: [{checkId, index}]}.
 * Writes the plan (host batches) to S3 and opens the check in the registry.
 * On the way, the scheduled sweep of rollouts: an active rollout whose
 * execution ended without its finish task is reconciled (core/rollout-lifecycle.ts;
 * DescribeExecution on FleetRollout and RolloutRollback executions only).
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { PlanInput, planCheck, S3JsonObjects } from '../../core/compliance';
import { reconcileActiveRollouts, type ExecutionReader, type ExecutionStatus } from '../../core/rollout-lifecycle';
import { s3Client, sfnClient } from '../shared/clients';
import { CompliancePlanEnv } from '../shared/env';
import { openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

const executions: ExecutionReader = {
  describe: async (executionArn) => {
    const d = await sfnClient().send(new DescribeExecutionCommand({ executionArn }));
    return { status: d.status as ExecutionStatus, error: d.error ?? null, cause: d.cause ?? null };
  },
};

export const { handler, createHandler } = defineTask({
  name: 'compliance-plan',
  event: PlanInput,
  env: CompliancePlanEnv,
  deps: async (env, log) => ({ store: (await openRegistry(env, log)).store, objects: new S3JsonObjects(s3Client(), env.REPORT_BUCKET), executions }),
  run: async (input, deps, log) => {
    const out = await planCheck(input, deps);
    log.info('compliance check planned', { checkId: out.checkId, hosts: out.hostCount, batches: out.batchCount });
    // never fails the check: the next run, or the next operator command, reconciles instead
    try {
      const reconciled = await reconcileActiveRollouts(deps.store, deps.executions, input.executionArn);
      if (reconciled.length > 0) log.info('rollouts reconciled', { reconciled });
    } catch (err) {
      log.warn('rollouts not reconciled', { error: (err as Error).name, message: (err as Error).message });
    }
    return out;
  },
});
