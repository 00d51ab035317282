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
import { parseInput } from '../../core/host-run';
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
import { FinishRunEnv } from '../shared/registry-env';
import { logger, parseEnv, registry, rethrowScrubbed, snsAlerts } from '../shared/registry-task';

const env = parseEnv(FinishRunEnv);
const alerts = snsAlerts(env.ALERT_TOPIC_ARN);

const Event = z.object({ action: z.string(), executionArn: z.string().optional(), request: z.unknown().optional() }).passthrough();

export async function handler(event: unknown) {
  try {
    const e = parseInput(Event, event, 'rollout event');
    const { store, pool } = await registry();
    const deps: RolloutDeps = { store, rollouts: new PgRolloutStore(pool), alerts };
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
    logger.info('rollout task', { action: e.action });
    return result;
  } catch (err) {
    rethrowScrubbed(err);
  }
}
