/**
 * rollout: the registry tasks of FleetRollout, RolloutBatch and
 * RolloutRollback, one function since they share one permission set. The
 * event is core/rollout-event.ts `RolloutTaskEvent`, one shape per action:
 *   {action: "plan", request, executionArn}              → RolloutContext
 *   {action: "next-batch", rollout, wave}                → {items: [{hostId}], more, failed, maxFailures, pending}
 *   {action: "claim-host", rollout, wave, hostId}        → {action: "run"|"skip", executionName?, reason?}
 *   {action: "record-host", rollout, wave, hostId, output?|error?, mode} → {hostId, result}
 *   {action: "evaluate-wave", rollout, wave}             → {ok, failed, succeeded, unreachable, notStarted, maxFailures}
 *   {action: "await-approval", rollout, taskToken}       → {waiting} (the execution waits for SendTaskSuccess)
 *   {action: "finish", rollout, status, wave?, error?}   → summary (SNS message sent)
 *   {action: "plan-rollback", request, executionArn}     → RolloutContext
 *   {action: "next-rollback-batch", rollout, request}    → {items: [{hostId, backupId, wave}], more}
 */
import { assertNever } from '../../core/errors';
import {
  awaitApproval,
  claimHost,
  evaluateWave,
  finishRollout,
  nextBatch,
  recordHost,
  type RolloutDeps,
} from '../../core/rollout';
import { planRollout } from '../../core/rollout-plan';
import { RolloutTaskEvent } from '../../core/rollout-event';
import { nextRollbackBatch, planRolloutRollback } from '../../core/rollout-rollback';
import { RolloutEnv } from '../shared/env';
import { alertSink, openRegistry } from '../shared/registry';
import { defineTask } from '../shared/task';

async function run(e: RolloutTaskEvent, deps: RolloutDeps): Promise<unknown> {
  switch (e.action) {
    case 'plan':
      return planRollout(e.request, e.executionArn, deps);
    case 'next-batch':
      return nextBatch(e, deps);
    case 'claim-host':
      return claimHost(e, deps);
    case 'record-host':
      return recordHost(e, deps);
    case 'evaluate-wave':
      return evaluateWave(e, deps);
    case 'await-approval':
      return awaitApproval(e, deps);
    case 'finish':
      return finishRollout(e, deps);
    case 'plan-rollback':
      return planRolloutRollback(e.request, e.executionArn, deps);
    case 'next-rollback-batch':
      return nextRollbackBatch(e, deps);
    default:
      return assertNever(e, 'rollout action');
  }
}

export const { handler, createHandler } = defineTask({
  name: 'rollout',
  event: RolloutTaskEvent,
  env: RolloutEnv,
  deps: async (env, log): Promise<RolloutDeps> => ({ store: (await openRegistry(env, log)).store, alerts: alertSink(env) }),
  run: async (e, deps, log) => {
    const result = await run(e, deps);
    log.info('rollout task', { action: e.action });
    return result;
  },
});
