/**
 * rollout: the registry tasks of FleetRollout, RolloutBatch and
 * RolloutRollback, one function since they share one permission set.
 *   {action: "plan", request, executionArn}              → RolloutContext
 *   {action: "next-batch", rollout, wave}                → {items: [{hostId}], more, failed, maxFailures, pending}
 *   {action: "claim-host", rollout, wave, hostId}        → {action: "run"|"skip", executionName?, reason?}
 *   {action: "record-host", rollout, wave, hostId, output?|error?, mode} → {hostId, result}
 *   {action: "evaluate-wave", rollout, wave}             → {ok, failed, succeeded, unreachable, notStarted, maxFailures}
 *   {action: "await-approval", rollout, taskToken}       → {waiting} (the execution waits for SendTaskSuccess)
 *   {action: "finish", rollout, status, wave?, error?}   → summary (SNS message sent)
 *   {action: "plan-rollback", request, executionArn}     → RolloutContext
 *   {action: "next-rollback-batch", rollout, wave?}      → {items: [{hostId, backupId, wave}], more}
 */
import { z } from 'zod';
import { PgRolloutStore } from '../../core/registry/rollout-store';
import {
  awaitApproval,
  claimHost,
  evaluateWave,
  finishRollout,
  nextBatch,
  nextRollbackBatch,
  planRollout,
  planRolloutRollback,
  recordHost,
  type RolloutDeps,
} from '../../core/rollout';
import { RolloutEnv } from '../shared/env';
import { alertSink, openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

const Event = z.object({ action: z.string(), executionArn: z.string().optional(), request: z.unknown().optional() }).passthrough();

export const { handler, createHandler } = defineTask({
  name: 'rollout',
  event: Event,
  env: RolloutEnv,
  deps: async (env, log): Promise<RolloutDeps> => {
    const { store, pool } = await openRegistry(env, log);
    return { store, rollouts: new PgRolloutStore(pool), alerts: alertSink(env) };
  },
  run: async (e, deps, log) => {
    let result: unknown;
    switch (e.action) {
      case 'plan':
        result = await planRollout(e.request, e.executionArn ?? 'unknown', deps);
        break;
      case 'next-batch':
        result = await nextBatch(e, deps);
        break;
      case 'claim-host':
        result = await claimHost(e, deps);
        break;
      case 'record-host':
        result = await recordHost(e, deps);
        break;
      case 'evaluate-wave':
        result = await evaluateWave(e, deps);
        break;
      case 'await-approval':
        result = await awaitApproval(e, deps);
        break;
      case 'finish':
        result = await finishRollout(e, deps);
        break;
      case 'plan-rollback':
        result = await planRolloutRollback(e.request, e.executionArn ?? 'unknown', deps);
        break;
      case 'next-rollback-batch':
        result = await nextRollbackBatch(e, deps);
        break;
      default:
        throw new Error(`unknown rollout action ${e.action}`);
    }
    log.info('rollout task', { action: e.action });
    return result;
  },
});
