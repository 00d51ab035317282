/**
 * The rollout Lambda's event: every task FleetRollout, RolloutBatch and
 * RolloutRollback send it (core/rollout.ts, core/rollout-rollback.ts).
 */
import { z } from 'zod';
import { ExecutionArn } from './registry/fields';
import { AwaitApprovalEvent, FinishRolloutEvent, FleetRolloutRequest, HostEvent, RecordHostEvent, WaveEvent } from './rollout';
import { NextRollbackBatchEvent, RolloutRollbackRequest } from './rollout-rollback';

/**
 * Every task the state machines send the rollout Lambda (FleetRollout,
 * RolloutBatch, RolloutRollback), one shape per `action`. Plan tasks carry
 * the execution that owns the attempt; it is required, since a rollout keyed
 * on a made-up execution would look retried forever.
 */
export const RolloutTaskEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('plan'), request: FleetRolloutRequest, executionArn: ExecutionArn }),
  WaveEvent.extend({ action: z.literal('next-batch') }),
  HostEvent.extend({ action: z.literal('claim-host') }),
  RecordHostEvent.extend({ action: z.literal('record-host') }),
  WaveEvent.extend({ action: z.literal('evaluate-wave') }),
  AwaitApprovalEvent.extend({ action: z.literal('await-approval') }),
  FinishRolloutEvent.extend({ action: z.literal('finish') }),
  z.object({ action: z.literal('plan-rollback'), request: RolloutRollbackRequest, executionArn: ExecutionArn }),
  NextRollbackBatchEvent.extend({ action: z.literal('next-rollback-batch') }),
]);
export type RolloutTaskEvent = z.infer<typeof RolloutTaskEvent>;
